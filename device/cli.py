"""Device-side commands. Only LiteRT, numpy and audio libraries: never TensorFlow."""

from __future__ import annotations

import json
from pathlib import Path

import click

from device.models import DEFAULT_MODEL
from leaf_edge.cli import user_errors


def split_model(paths: tuple[Path, ...]) -> tuple[Path, list[Path]]:
    """``[MODEL.tflite] REST...``: the model (default: the shipped one) and the other paths."""
    if paths and paths[0].suffix == ".tflite":
        return paths[0], list(paths[1:])
    if not DEFAULT_MODEL.exists():
        raise click.ClickException(f"no model given and the default {DEFAULT_MODEL} is missing")
    return DEFAULT_MODEL, list(paths)


def detection_options(command):
    """Flags that override the model's recommended detection settings."""
    options = [
        click.option("--hop", type=float, help="Seconds between windows (model default)."),
        click.option("--threshold", type=float, help="Smoothed score a label must reach (model default)."),
        click.option("--smoothing", type=int, help="Windows averaged before deciding (model default)."),
        click.option("--min-count", type=int, help="Hops a label must stay above threshold (model default)."),
        click.option("--suppression", type=float, help="Seconds of quiet after an event (model default)."),
        click.option("--threads", type=int, default=1, show_default=True, help="LiteRT CPU threads."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def settings_from(classifier, hop, threshold, smoothing, min_count, suppression):
    from device.detect import DetectionSettings

    return DetectionSettings.from_metadata(
        classifier.metadata.leaf_edge,
        hop_seconds=hop,
        threshold=threshold,
        smoothing_windows=smoothing,
        min_count=min_count,
        suppression_seconds=suppression,
    )


@click.command()
def demo() -> None:
    """Classify a bundled recording with the shipped default keyword model.

    \b
    Example:
      leaf-edge demo
    """
    if not DEFAULT_MODEL.exists():
        click.echo(
            f"No model ships yet: {DEFAULT_MODEL.name} is not in {DEFAULT_MODEL.parent}/.\n"
            "You can train and convert your own today (README: 'Train your own', 'Convert');\n"
            "the shipped model and the on-device runner come next."
        )
        return
    raise click.ClickException(f"{DEFAULT_MODEL} exists but this version cannot run it yet")


@click.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON.")
@user_errors
def inspect(model: Path, as_json: bool) -> None:
    """Show what MODEL (.tflite) carries: metadata, labels, leaf-edge settings, ops, size.

    Reads the file itself (flatbuffers), without TensorFlow.

    \b
    Example:
      leaf-edge inspect models/keywords-leaf.tflite
    """
    from device.inspect import describe, format_description

    info = describe(model)
    click.echo(json.dumps(info, indent=2) if as_json else format_description(info))


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--top-k", default=3, show_default=True, help="Labels shown per short file.")
@detection_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file, one per line.")
@user_errors
def classify(paths, top_k, hop, threshold, smoothing, min_count, suppression, threads, as_json) -> None:
    """Classify audio files: [MODEL.tflite] FILE...

    A clip (up to 1.5 windows) gets its top labels; a longer recording gets a timeline of the
    windows' top labels and the detected events. Any sample rate, channel count or sample type;
    files are read in blocks. MODEL defaults to the shipped keyword model.

    \b
    Examples:
      leaf-edge classify yes.wav
      leaf-edge classify my-model.tflite recording.flac --json
    """
    from device.audio import AudioInputError
    from device.classifier import Classifier
    from device.classify_files import classify_file, format_result

    model, files = split_model(paths)
    if not files:
        raise click.ClickException("no audio files given")
    classifier = Classifier(model, num_threads=threads)
    settings = settings_from(classifier, hop, threshold, smoothing, min_count, suppression)
    failed = 0
    for path in files:
        try:
            if not path.is_file():
                raise AudioInputError(f"{path}: no such file")
            result = classify_file(classifier, path, settings, top_k)
        except AudioInputError as error:
            failed += 1
            click.echo(f"Error: {error}", err=True)
            continue
        click.echo(json.dumps(result) if as_json else format_result(result))
    if failed:
        raise click.ClickException(f"{failed} of {len(files)} files could not be classified")
