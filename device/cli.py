"""Device-side commands. Only LiteRT, numpy and audio libraries: never TensorFlow."""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from device.audio import MAX_RATE, MIN_RATE
from device.contract import MAX_SECONDS, MAX_WINDOWS, MIN_HOP_SECONDS
from device.errors import user_errors
from device.models import DEFAULT_MODEL


def split_model(paths: tuple[Path, ...]) -> tuple[Path, list[Path]]:
    """``[MODEL.tflite] REST...``: the model (default: the shipped one) and the other paths."""
    if paths and paths[0].suffix == ".tflite":
        return paths[0], list(paths[1:])
    if not DEFAULT_MODEL.exists():
        raise click.ClickException(f"no model given and the default {DEFAULT_MODEL} is missing")
    return DEFAULT_MODEL, list(paths)


class Finite(click.FloatRange):
    """A finite number in a range (click's FloatRange lets NaN through: it compares false)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def to_json(value, **options) -> str:
    """JSON that any parser reads, for every command's ``--json``: a NaN or infinity (a figure
    with nothing to measure, such as the latency of no detection) is written as null."""
    return json.dumps(_finite(value), allow_nan=False, **options)


SECONDS = Finite(0, MAX_SECONDS, min_open=True)
THREADS = click.IntRange(1, 64)


def detection_options(command):
    """Flags that override the model's recommended detection settings (named after their fields)."""
    options = [
        click.option(
            "--hop",
            "hop_seconds",
            type=Finite(MIN_HOP_SECONDS, MAX_SECONDS),
            help="Seconds between windows (model default).",
        ),
        click.option(
            "--threshold", type=Finite(0, 1), help="Smoothed score a label must reach (model default)."
        ),
        click.option(
            "--smoothing",
            "smoothing_windows",
            type=click.IntRange(1, MAX_WINDOWS),
            help="Windows averaged (model default).",
        ),
        click.option(
            "--min-count",
            type=click.IntRange(1, MAX_WINDOWS),
            help="Hops a label must stay above threshold (model default).",
        ),
        click.option(
            "--suppression",
            "suppression_seconds",
            type=Finite(0, MAX_SECONDS),
            help="Seconds between events.",
        ),
        click.option("--threads", type=THREADS, default=1, show_default=True, help="LiteRT CPU threads."),
        click.option(
            "--window-model",
            is_flag=True,
            help="Rerun the window model every hop even when the file has a streaming model.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command()
@click.option("--picture", type=click.Path(dir_okay=False, path_type=Path), default="leaf-edge-demo.png",
              show_default=True, help="Where to draw the recording's LEAF spectrogram.")  # fmt: skip
@click.option(
    "--listen-seconds",
    type=Finite(0, MAX_SECONDS),
    default=5.0,
    show_default=True,
    help="0: skip the microphone.",
)
@user_errors
def demo(picture: Path, listen_seconds: float) -> None:
    """Classify a bundled recording with the shipped keyword model, draw it, then listen.

    \b
    Example:
      leaf-edge demo
    """
    from device.classifier import Classifier
    from device.demo import run_demo

    if not DEFAULT_MODEL.exists():
        raise click.ClickException(
            f"the shipped model {DEFAULT_MODEL} is missing (git lfs? a partial clone?)"
        )
    run_demo(Classifier(DEFAULT_MODEL), click.echo, picture, listen_seconds)


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
    click.echo(to_json(info, indent=2) if as_json else format_description(info))


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--top-k", type=click.IntRange(1), default=3, show_default=True, help="Labels shown per short file."
)
@detection_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file, one per line.")
@user_errors
def classify(paths, top_k, threads, window_model, as_json, **detection) -> None:
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
    from device.contract import DetectionSettings

    classifier = Classifier(model, num_threads=threads, streaming=not window_model)
    settings = DetectionSettings.from_metadata(classifier.metadata.leaf_edge, **detection)
    failed = 0
    for path in files:
        try:
            if path.is_dir():
                raise AudioInputError(f"{path}: a folder, not an audio file")
            if not path.is_file():
                raise AudioInputError(f"{path}: no such file")
            result = classify_file(classifier, path, settings, top_k)
        except AudioInputError as error:
            failed += 1
            click.echo(f"Error: {error}", err=True)
            continue
        click.echo(to_json(result) if as_json else format_result(result))
    if failed:
        raise click.ClickException(f"{failed} of {len(files)} files could not be classified")


@click.command()
@click.argument("model", required=False, type=click.Path(path_type=Path))
@click.option("--list-devices", is_flag=True, help="List input devices and exit.")
@click.option("--device", help="Input device: index or part of its name (default: the system default).")
@click.option(
    "--duration", type=Finite(0, MAX_SECONDS), help="Stop after this many seconds (default: until Ctrl-C)."
)
@click.option(
    "--rate",
    type=click.IntRange(MIN_RATE, MAX_RATE),
    help="Capture at this rate (default: the model's if the device has it).",
)
@click.option(
    "--calibrate",
    "calibrate_seconds",
    type=SECONDS,
    metavar="SECONDS",
    help="First record the room this long with nobody speaking and raise per-label "
    "thresholds just enough that it would have fired nothing.",
)
@click.option(
    "--save",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --calibrate: write a copy of the model with the raised thresholds.",
)
@detection_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event, then a summary line.")
@user_errors
def listen(model, list_devices, device, duration, rate, calibrate_seconds, save, threads, window_model,
           as_json, **detection) -> None:  # fmt: skip
    """Detect keywords on a live microphone: [MODEL.tflite].

    Prints each event with its time, label, score and latency. Ctrl-C stops with a summary.
    MODEL defaults to the shipped keyword model.

    \b
    Examples:
      leaf-edge listen --list-devices
      leaf-edge listen --device "USB" --duration 30 --json
      leaf-edge listen --calibrate 60 --save models/my-room.tflite
    """
    from device.listen import (
        calibrate_room,
        format_changes,
        format_event,
        format_summary,
        run_listener,
        save_calibrated,
    )
    from device.microphone import input_devices

    if list_devices:
        devices = input_devices()
        if as_json:
            click.echo(to_json(devices))
        for d in [] if as_json else devices:
            click.echo(
                f"{d['index']:3d}  {d['name']}  ({d['host_api']}, {d['channels']} ch, {d['default_rate']} Hz)"
            )
        if not devices and not as_json:
            click.echo("no input devices")
        return
    model, _ = split_model((model,) if model else ())

    def show(event: dict) -> None:
        click.echo(to_json(event) if as_json else format_event(event))

    from device.classifier import Classifier

    if save and not calibrate_seconds:
        raise click.UsageError("--save goes with --calibrate SECONDS")
    if save and save.exists():
        raise click.UsageError(f"--save {save} exists; remove it or choose another name")
    classifier = Classifier(model, num_threads=threads, streaming=not window_model)
    if calibrate_seconds:
        if not as_json:
            click.echo(f"calibrating: keep the room as it is and do not speak for {calibrate_seconds:g} s")
        detection, changes = calibrate_room(classifier, device, calibrate_seconds, detection, rate)
        if as_json:
            click.echo(to_json({"calibration": {k: list(v) for k, v in changes.items()}}))
        else:
            click.echo(format_changes(changes, calibrate_seconds))
        if save:
            save_calibrated(classifier, detection, changes, calibrate_seconds, save)
            if not as_json:
                click.echo(f"saved {save}")
    summary = run_listener(
        classifier, device, duration, detection, show, log=None if as_json else click.echo, rate=rate
    )
    click.echo(to_json({"summary": summary}) if as_json else format_summary(summary))


@click.command()
@click.argument("models", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--threads",
    type=THREADS,
    default=4,
    show_default=True,
    help="The second thread count measured (besides 1).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the measurements as JSON.")
@user_errors
def bench(models: tuple[Path, ...], threads: int, as_json: bool) -> None:
    """Latency, real-time factor, peak memory and size of MODELS side by side, with ratios.

    Without MODELS: every shipped model in models/. The first model is the baseline of the ratios.

    \b
    Example:
      leaf-edge bench models/keywords-leaf.tflite models/keywords-leaf-float.tflite
    """
    from device.bench import bench_model, format_table, ratios
    from device.models import MODELS_DIR

    paths = list(models) or sorted(MODELS_DIR.glob("*.tflite"))
    if not paths:
        raise click.ClickException(f"no models given and none in {MODELS_DIR}")
    if threads < 1:
        raise click.BadParameter("must be at least 1", param_hint="--threads")
    from device.metadata import read_leaf_edge_metadata

    for path in paths:  # every file checked before the first measurement
        read_leaf_edge_metadata(path.read_bytes(), str(path))
    results = []
    for path in paths:
        if not as_json:
            click.echo(f"measuring {path} ...", err=True)
        results.append(bench_model(path, threads))
    if as_json:
        click.echo(to_json({"threads": threads, "models": results, "ratios": ratios(results)}, indent=2))
    else:
        click.echo(format_table(results, threads))
