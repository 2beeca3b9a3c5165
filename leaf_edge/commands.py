"""The training-side commands: ``leaf-edge data``, ``train`` and ``evaluate``.

Thin click wrappers: they parse options, call the library and turn expected failures into
one-line errors. TensorFlow is imported only when a command runs.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import click

from device.cli import to_json
from device.errors import user_errors
from leaf_edge.data.instruments import InstrumentSetConfig


@click.group()
def data() -> None:
    """Make data sets offline."""


@data.command("keywords")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--speakers", default=800, show_default=True, help="Synthetic speakers (12 words each).")
@click.option("--seed", default=0, show_default=True)
@click.option("--workers", type=int, help="Processes (default: every core).")
@click.option(
    "--engines",
    default="espeak-ng,flite,festival",
    show_default=True,
    help="TTS engines to use, comma-separated.",
)
@click.option("--accent-share", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of espeak-ng and festival speakers given another language's voice.")  # fmt: skip
@click.option("--resynthesis-share", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of speakers made new by WORLD resynthesis (pitch contour, jitter, shimmer, "
              "breathiness, formants, tilt; needs pyworld).")  # fmt: skip
@click.option("--common-words", type=click.IntRange(0), default=0, show_default=True,
              help="Unknown words from festival's lexicons: the keywords' near-misses and this many "
              "common English words (0: Speech Commands' 37 words).")  # fmt: skip
@click.option("--unknown-per-speaker", type=click.IntRange(0), default=2, show_default=True,
              help="Unknown words each speaker says.")  # fmt: skip
@click.option("--phrases-per-speaker", type=click.IntRange(0), default=0, show_default=True,
              help="Short phrases of common words (no keyword) each speaker says, as unknown.")  # fmt: skip
@user_errors
def keywords(
    out: Path,
    speakers: int,
    seed: int,
    workers: int | None,
    engines: str,
    accent_share: float,
    resynthesis_share: float,
    common_words: int,
    unknown_per_speaker: int,
    phrases_per_speaker: int,
) -> None:
    """Generate the built-in 12-label keyword set (Speech Commands layout) into OUT.

    \b
    Example:
      leaf-edge data keywords data/keywords
      leaf-edge data keywords data/small --speakers 60
      leaf-edge data keywords data/many-words --common-words 3000 --unknown-per-speaker 6
    """
    from leaf_edge.data.synth import KeywordSetConfig, generate_keywords

    chosen = tuple(e.strip() for e in engines.split(",") if e.strip())
    defaults = KeywordSetConfig()
    shares = tuple(defaults.engine_shares[defaults.engines.index(e)] for e in chosen if e in defaults.engines)
    if len(shares) != len(chosen):
        raise click.BadParameter(f"choose from {', '.join(defaults.engines)}", param_hint="--engines")
    config = dataclasses.replace(
        defaults,
        speakers=speakers,
        seed=seed,
        engines=chosen,
        engine_shares=shares,
        accent_share=accent_share,
        resynthesis_share=resynthesis_share,
        common_words=common_words,
        unknown_words_per_speaker=unknown_per_speaker,
        phrases_per_speaker=phrases_per_speaker,
    )
    summary = generate_keywords(out, config, workers)
    dropped = summary["dropped"]
    reasons = ", ".join(f"{n} {why}" for why, n in dropped["by_reason"].items()) or "none"
    click.echo(
        f"{out}: {sum(summary['clips'].values())} clips ("
        + ", ".join(f"{s} {n}" for s, n in summary["clips"].items())
        + f") from {sum(summary['speakers'].values())} speakers "
        f"in {summary['seconds_to_generate']} s; dropped {dropped['total']} ({reasons})"
    )


@data.command("instruments")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--clips-per-family", default=InstrumentSetConfig.clips_per_family, show_default=True,
              help="Clips per family and sound font.")  # fmt: skip
@click.option("--seed", default=0, show_default=True)
@click.option("--workers", type=int, help="Processes (default: every core).")
@click.option("--train-fonts", default=",".join(InstrumentSetConfig.train_fonts), show_default=True,
              help="Sample sets of the train, validation and in-font test clips.")  # fmt: skip
@click.option("--unseen-fonts", default=",".join(InstrumentSetConfig.unseen_fonts), show_default=True,
              help="Sound fonts heard only in the test split ('' for none).")  # fmt: skip
@user_errors
def instruments(out: Path, clips_per_family: int, seed: int, workers: int | None, train_fonts: str,
                unseen_fonts: str) -> None:  # fmt: skip
    """Render NSynth's 11 instrument families (fluidsynth, timidity) into OUT (2 s, 44.1 kHz stereo).

    \b
    Example:
      leaf-edge data instruments data/instruments
      leaf-edge data instruments data/small --clips-per-family 10
    """
    from leaf_edge.data.instruments import generate_instruments

    if clips_per_family < 1:
        raise click.BadParameter("must be at least 1", param_hint="--clips-per-family")
    config = InstrumentSetConfig(
        clips_per_family=clips_per_family, seed=seed,
        train_fonts=_csv(train_fonts) or (), unseen_fonts=_csv(unseen_fonts) or (),
    )  # fmt: skip
    if not config.train_fonts:
        raise click.BadParameter("name at least one sound font", param_hint="--train-fonts")
    summary = generate_instruments(out, config, workers)
    click.echo(
        f"{out}: {sum(summary['clips'].values())} clips ("
        + ", ".join(f"{s} {n}" for s, n in summary["clips"].items())
        + f") from {len(summary['fonts'])} sound fonts in {summary['seconds_to_generate']} s; "
        f"dropped {summary['dropped']['total']}"
    )


def _non_negative(value: str, option: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number >= 0 or number == float("inf"):
        raise click.BadParameter(f"{value!r} is not a number >= 0", param_hint=option)
    return number


@data.command("negatives")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path),
              default=Path.home() / ".cache" / "leaf-edge" / "debs", show_default=True,
              help="Where the Debian packages are downloaded and unpacked (kept for reruns).")  # fmt: skip
@click.option("--sources", help="Package sources to use, comma-separated (default: all).")
@click.option("--midi-minutes", default="60,15,15", show_default=True,
              help="Minutes of generated MIDI music for train,validation,test.")  # fmt: skip
@click.option("--tts-minutes", default="60,15,15", show_default=True,
              help="Minutes of text-to-speech passages for train,validation,test.")  # fmt: skip
@click.option("--seed", default=0, show_default=True)
@click.option("--workers", type=int, help="Processes (default: every core).")
@user_errors
def negatives(out: Path, cache: Path, sources: str | None, midi_minutes: str, tts_minutes: str, seed: int,
              workers: int | None) -> None:  # fmt: skip
    """Gather hours of audio with no keyword in it from Debian packages into OUT (16 kHz FLAC).

    Music, effects and speech in other languages from Debian main packages (downloaded with
    apt-get into --cache, not installed), MIDI music rendered here and TTS passages; each source
    wholly in train, validation or test. Stream evaluation and training use it.

    \b
    Example:
      leaf-edge data negatives data/negatives
      leaf-edge evaluate models/keywords-leaf.tflite data/keywords --stream --negatives data/negatives
    """
    from leaf_edge.data.negatives import PACKAGE_SOURCES, NegativeSetConfig, generate_negatives

    def minutes(value: str, option: str) -> dict:
        parts = _csv(value) or ()
        try:
            numbers = [float(v) for v in parts]
        except ValueError:
            numbers = []
        if len(numbers) != 3 or not all(0 <= n < 1e5 for n in numbers):
            raise click.BadParameter(
                f"{value!r}: three minutes >= 0 (train,validation,test)", param_hint=option
            )
        return dict(zip(("train", "validation", "test"), numbers, strict=True))

    config = NegativeSetConfig(
        seed=seed, sources=_csv(sources) or tuple(s.name for s in PACKAGE_SOURCES),
        midi_minutes=minutes(midi_minutes, "--midi-minutes"),
        tts_minutes=minutes(tts_minutes, "--tts-minutes"),
    )  # fmt: skip
    summary = generate_negatives(out, config, cache, workers)
    click.echo(
        f"{out}: "
        + ", ".join(f"{split} {hours:.2f} h" for split, hours in summary["hours"].items())
        + f" from {len(summary['sources'])} sources in {summary['seconds_to_gather']:.0f} s; "
        f"{summary['skipped']} files unreadable or silent"
    )


def _speed_range(value: str | None) -> tuple[float, float] | None:
    """``--speed-range LOW,HIGH`` as two factors, 0.25 <= LOW <= HIGH <= 4 (None: the data's default)."""
    if value is None:
        return None
    try:
        low, high = (float(part) for part in value.split(","))
    except ValueError:
        low = high = float("nan")
    if not 0.25 <= low <= high <= 4:
        raise click.BadParameter(
            f"{value!r} is not LOW,HIGH with 0.25 <= LOW <= HIGH <= 4", param_hint="--speed-range"
        )
    return low, high


def _csv(value: str | None) -> tuple[str, ...] | None:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else None


@click.command()
@click.argument("data_dir", metavar="DATA", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "run",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Run folder.",
)
@click.option("--frontend", type=click.Choice(["leaf", "leaf-log", "mel"]), default="leaf", show_default=True)
@click.option(
    "--gabor",
    type=click.Choice(["exact", "grouped"]),
    default="exact",
    show_default=True,
    help="LEAF's filterbank: exact stride-1 convolution, or grouped at decimated rates (EfficientLEAF).",
)
@click.option(
    "--classifier",
    type=click.Choice(["auto", "efficientnet-b0", "efficientnet-small", "cnn-small"]),
    default="auto",
    show_default=True,
    help="auto: cnn-small (a plain 4-block CNN) below 2000 training clips, else efficientnet-b0.",
)
@click.option("--epochs", default=30, show_default=True)
@click.option("--batch-size", default=32, show_default=True)
@click.option("--lr", "learning_rate", default=1e-3, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--keywords", help="Comma-separated keywords; other words become _unknown_.")
@click.option("--clip-seconds", type=float,
              help="Clip length; default: the median length of DATA's files (0.5-10 s).")  # fmt: skip
@click.option("--sample-rate", default=16000, show_default=True)
@click.option("--n-filters", default=40, show_default=True)
@click.option("--min-freq", default=60.0, show_default=True, help="Lowest filter centre (Hz).")
@click.option("--max-freq", type=float, help="Highest filter centre (Hz); default 97.5 % of half the rate.")
@click.option("--window-ms", default=25.0, show_default=True, help="Filter and pooling window.")
@click.option("--stride-ms", default=10.0, show_default=True, help="Frame step.")
@click.option("--augment/--no-augment", default=True, show_default=True, help="All augmentation.")
@click.option("--noise/--no-noise", default=True, help="Background noise at random SNR.")
@click.option("--rooms/--no-rooms", default=True, help="Simulated room reverberation.")
@click.option("--speed/--no-speed", default=True, help="Speed change and time shift.")
@click.option("--speed-range", metavar="LOW,HIGH",
              help="Speed (and pitch) factors; default 0.7,1.4 for under 2000 training clips of sounds "
              "other than keywords (an _unknown_ class), else 0.9,1.1.")  # fmt: skip
@click.option("--gain/--no-gain", default=True, help="Random gain.")
@click.option("--specaugment/--no-specaugment", default=True, help="Feature masking.")
@click.option("--eq/--no-eq", default=False, help="Random equaliser (timbre variety); off by default.")
@click.option("--warp/--no-warp", default=False, help="Random formant warp, +-15%; off by default.")
@click.option("--babble/--no-babble", default=False, help="Other talkers behind half the clips; off.")
@click.option("--context-words/--no-context-words", default=False,
              help="Running speech: unknown words just before and after half the clips' words.")  # fmt: skip
@click.option("--keyword-fragments/--no-keyword-fragments", default=False,
              help="A fifth of the keyword clips cut to their word's head or tail, as unknown.")  # fmt: skip
@click.option(
    "--mixup",
    metavar="ALPHA",
    default="0",
    show_default=True,
    help="Blend pairs of clips and labels, Beta(a, a); 0: off.",
)
@click.option(
    "--hold-out-engine",
    metavar="ENGINE",
    help="Train without this engine's clips and report accuracy on them (unseen voices).",
)
@click.option("--split-by", type=click.Choice(["auto", "lists", "speaker", "file"]), default="auto",
              show_default=True, help="auto: the split lists when present, else by speaker (name before "
              "_nohash_); speaker and file splits are stratified by label.")  # fmt: skip
@click.option("--validation-share", default=0.1, show_default=True)
@click.option("--test-share", default=0.1, show_default=True, help="0 with --test.")
@click.option("--test", "test_dir", type=click.Path(file_okay=False, path_type=Path),
              help="A separate folder (same labels) of test clips.")  # fmt: skip
@click.option(
    "--background",
    metavar="DIR|noise",
    help="Add a _silence_ class cut from DIR's recordings, or from generated quiet noise.",
)
@click.option(
    "--negatives",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A `leaf-edge data negatives` folder: its training hours as noise, _silence_ windows "
    "and mined hard negatives; its validation hours score misses at a false-accept rate.",
)
@click.option("--checkpoint-by", type=click.Choice(["accuracy", "stream"]), default="accuracy",
              show_default=True, help="stream: keep the epoch that misses fewest validation keywords at "
              "4 false accepts an hour of validation negatives (needs --negatives).")  # fmt: skip
@click.option(
    "--freeze-frontend", is_flag=True, help="Keep the frontend as it starts: mel-like, or --init-from's."
)
@click.option("--init-from", type=click.Path(file_okay=False, path_type=Path), metavar="RUN",
              help="Start from a finished run's trained weights (fine-tuning): every layer that fits; "
              "the label layer only when the labels are the same.")  # fmt: skip
@click.option("--distribute", is_flag=True, help="tf.distribute: Mirrored, or MultiWorker with TF_CONFIG.")
@user_errors
def train(data_dir, run, frontend, gabor, classifier, epochs, batch_size, learning_rate, seed, keywords,
          clip_seconds, sample_rate, n_filters, min_freq, max_freq, window_ms, stride_ms, augment, noise,
          rooms, speed, speed_range, gain, specaugment, eq, warp, babble, context_words, keyword_fragments,
          mixup, hold_out_engine, split_by, validation_share, test_share, test_dir, background, negatives,
          checkpoint_by, freeze_frontend, init_from, distribute) -> None:  # fmt: skip
    """Train a frontend + classifier on DATA (Speech Commands layout or a folder per label).

    Interrupted runs resume from their last finished epoch when the same command is rerun.

    \b
    Example:
      leaf-edge train data/keywords --out runs/leaf
      leaf-edge train data/keywords --frontend mel --out runs/mel
      leaf-edge train data/keywords --hold-out-engine flite --out runs/leaf-no-flite
      leaf-edge train data/keywords --negatives data/negatives --out runs/leaf-negatives
      leaf-edge train my-voice/ --init-from runs/leaf --epochs 5 --lr 3e-4 --out runs/leaf-my-voice
    """
    from device.contract import AudioSpec
    from leaf_edge.data.augment import AugmentConfig
    from leaf_edge.data.folders import typical_clip_seconds
    from leaf_edge.runs import TrainConfig
    from leaf_edge.train import train as run_training

    if gabor != "exact" and frontend == "mel":
        raise click.UsageError("--gabor grouped needs a LEAF frontend")

    if not augment:
        opt_ins = {"--eq": eq, "--warp": warp, "--babble": babble, "--context-words": context_words,
                   "--keyword-fragments": keyword_fragments, "--speed-range": speed_range is not None,
                   "--mixup": _non_negative(mixup, "--mixup") > 0}  # fmt: skip
        chosen = [name for name, on in opt_ins.items() if on]
        if chosen:
            dropped = "--no-augment, or " + ", ".join(chosen)
            raise click.UsageError(f"--no-augment turns all augmentation off: drop {dropped}")
        aug = AugmentConfig.off()
    else:
        aug = dataclasses.replace(
            AugmentConfig(),
            noise_prob=AugmentConfig.noise_prob if noise else 0.0,
            room_prob=AugmentConfig.room_prob if rooms else 0.0,
            speed_prob=None if speed else 0.0,  # None: the data's default share, settled by train()
            speed_range=_speed_range(speed_range),
            shift_ms=AugmentConfig.shift_ms if speed else 0.0,
            gain_db=AugmentConfig.gain_db if gain else (0.0, 0.0),
            spec_augment=specaugment,
            eq_prob=0.5 if eq else 0.0,
            warp=0.15 if warp else 0.0,
            babble_prob=0.5 if babble else 0.0,
            context_prob=0.5 if context_words else 0.0,
            fragment_prob=0.2 if keyword_fragments else 0.0,
            mixup=_non_negative(mixup, "--mixup"),
        )
    config = TrainConfig(
        data=str(data_dir.resolve()),
        frontend=frontend,
        gabor=gabor,
        classifier=classifier,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        keywords=_csv(keywords),
        held_out_engine=hold_out_engine,
        split_by=split_by,
        validation_share=validation_share,
        test_share=test_share,
        test_data=str(test_dir.resolve()) if test_dir else None,
        background=background if background in (None, "noise") else str(Path(background).resolve()),
        negatives=str(negatives.resolve()) if negatives else None,
        checkpoint_by=checkpoint_by,
        freeze_frontend=freeze_frontend,
        init_from=str(init_from.resolve()) if init_from else None,
        spec=AudioSpec(
            sample_rate=sample_rate,
            clip_seconds=clip_seconds or typical_clip_seconds(data_dir),
            n_filters=n_filters,
            min_freq=min_freq,
            max_freq=max_freq,
            window_ms=window_ms,
            stride_ms=stride_ms,
        ),
        augment=aug,
        distribute=distribute,
    )
    started = time.monotonic()
    run_training(config, run, log=click.echo)
    click.echo(f"done in {time.monotonic() - started:.0f} s")


@click.command()
@click.argument(
    "targets", metavar="RUN|MODEL.tflite...", nargs=-1, required=True, type=click.Path(path_type=Path)
)
@click.argument("data_dir", metavar="DATA", type=click.Path(path_type=Path))
@click.option(
    "--split",
    type=click.Choice(["train", "validation", "test", "held_out", "all"]),
    default="test",
    show_default=True,
    help="held_out: the clips of the engine the run was trained without (--hold-out-engine); "
    "all: every clip of DATA (e.g. a folder the run never saw).",
)
@click.option(
    "--stream", is_flag=True, help="Stream .tflite files (LiteRT) over DATA: misses, false accepts."
)
@click.option("--negatives", type=click.Path(file_okay=False, path_type=Path),
              help="With --stream: keyword-free recordings (manifest.csv's split, else all).")  # fmt: skip
@click.option(
    "--negative-pauses", is_flag=True, help="With --stream: pauses cut from --negatives, not quiet noise."
)
@click.option("--running-speech", is_flag=True,
              help="With --stream: each keyword also inside running speech.")  # fmt: skip
@click.option("--engine", help="With --stream: only this engine's clips (e.g. a run's held-out engine).")
@click.option("--picture", type=click.Path(dir_okay=False, path_type=Path), default=Path("det.png"),
              show_default=True, help="With --stream: where the DET picture goes.")  # fmt: skip
@click.option("--seed", default=0, show_default=True, help="With --stream: word order and pauses.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@user_errors
def evaluate(
    targets: tuple[Path, ...], data_dir: Path, split: str, stream: bool, negatives: Path | None,
    negative_pauses: bool, running_speech: bool, engine: str | None, picture: Path, seed: int, as_json: bool,
) -> None:  # fmt: skip
    """Accuracy, per-class precision/recall and pictures of a trained RUN on DATA; of a
    MODEL.tflite as the device runs it (LiteRT, DATA's own split); with --stream, the stream
    figures of .tflite models as `listen` would run them.

    Writes RUN/eval-DATA-SPLIT/: confusion.png, filters.png (learned Gabor filters against their mel
    initialisation) and spectrograms.png (LEAF vs mel on one example). --stream writes the DET
    picture (false rejects against false accepts per hour, a curve per model).

    \b
    Example:
      leaf-edge evaluate runs/leaf data/keywords
      leaf-edge evaluate models/keywords-leaf.tflite data/keywords
      leaf-edge evaluate models/keywords-leaf.tflite models/keywords-mel.tflite data/keywords \\
        --stream --negatives data/negatives [--running-speech]
    """
    if stream:
        from leaf_edge.stream_report import format_stream_report, stream_reports

        if negative_pauses and not negatives:
            raise click.UsageError("--negative-pauses needs --negatives DIR")
        reports = stream_reports(
            targets, data_dir, split, negatives, engine, seed, picture, negative_pauses, running_speech
        )
        click.echo(to_json(reports, indent=2) if as_json else format_stream_report(reports, picture))
        return
    if len(targets) != 1 or negatives or engine or negative_pauses or running_speech:
        raise click.UsageError(
            "one RUN or MODEL.tflite without --stream; --negatives, --engine and --running-speech "
            "go with --stream"
        )
    from leaf_edge.evaluate import evaluate_model_file, evaluate_run, format_report

    evaluator = evaluate_model_file if targets[0].suffix == ".tflite" else evaluate_run
    report = evaluator(targets[0], data_dir, split)
    click.echo(to_json(report, indent=2) if as_json else format_report(report))


@click.command()
@click.argument("model", metavar="MODEL.tflite", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("data_dir", metavar="DATA", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--negatives",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A `leaf-edge data negatives` folder: its hours of the same split are scored.",
)
@click.option(
    "-o",
    "--output",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where the calibrated copy goes.",
)
@click.option(
    "--target-fa-per-hour",
    default=1.0,
    show_default=True,
    help="False accepts allowed an hour of negative audio.",
)
@click.option(
    "--target-speech-fa-per-hour",
    default="20",
    show_default=True,
    help="False accepts allowed an hour of non-keyword speech (DATA's unknown words); none: no limit.",
)
@click.option(
    "--split",
    type=click.Choice(["validation", "train"]),
    default="validation",
    show_default=True,
    help="The split of DATA and of --negatives whose streams the settings are chosen on.",
)
@click.option("--seed", default=0, show_default=True, help="Word order and pauses of the streams.")
@click.option("--force", is_flag=True, help="Overwrite OUT.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@user_errors
def calibrate(
    model: Path,
    data_dir: Path,
    negatives: Path,
    out: Path,
    target_fa_per_hour: float,
    target_speech_fa_per_hour: str,
    split: str,
    seed: int,
    force: bool,
    as_json: bool,
) -> None:
    """Choose MODEL.tflite's detection settings (per-label thresholds, smoothing, minimum count)
    that miss fewest keywords at the target false-accept rates on DATA's streams and the negative
    folder's hours of one split (validation by default); write them into a copy's metadata.

    \b
    Example:
      leaf-edge calibrate models/keywords-leaf.tflite data/keywords --negatives data/negatives \\
        --target-fa-per-hour 1 -o models/keywords-leaf-calibrated.tflite
    """
    from leaf_edge.calibration import Targets, calibrate_model, format_calibration

    if out.exists() and not force:
        raise click.UsageError(f"{out} exists; add --force to overwrite it")
    speech = None if target_speech_fa_per_hour == "none" else target_speech_fa_per_hour
    targets = Targets(_non_negative(target_fa_per_hour, "--target-fa-per-hour"),
                      speech and _non_negative(speech, "--target-speech-fa-per-hour"))  # fmt: skip
    report = calibrate_model(model, data_dir, negatives, out, targets, split, seed,
                             log=(lambda *_: None) if as_json else click.echo)  # fmt: skip
    click.echo(to_json(report, indent=2) if as_json else format_calibration(report))
