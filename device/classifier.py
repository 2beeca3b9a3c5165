"""The Python runtime API: ``Classifier`` classifies clips and streams of audio with a leaf-edge model.

Everything it needs (labels, sample rate, clip length, detection defaults) comes from the model
file's metadata; only LiteRT, numpy and soxr are used.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from device.audio import fit_length, resampled, to_mono_float
from device.contract import DetectionSettings, audio_spec
from device.detect import Detector, Event
from device.metadata import ModelFileError, read_leaf_edge_metadata
from device.models import DEFAULT_MODEL
from device.runtime import ModelRunner, ScoresError
from device.streaming import StreamRunner, open_stream


@dataclass(frozen=True)
class Category:
    """A label and its score (probability)."""

    label: str
    score: float


@dataclass(frozen=True)
class Window:
    """The scores of one window of a stream; ``time`` is where the window ends, in seconds."""

    time: float
    scores: np.ndarray


def runtime_problems(window: ModelRunner, stream: StreamRunner | None, metadata, spec) -> list[str]:
    """What the loaded graphs contradict in their metadata, or do wrong on silence (each a phrase).

    One step on silence catches a model that LiteRT loads but cannot run, or that scores NaN.
    """
    problems = []
    if len(window.inputs) != 1 or window.inputs[0]["dtype"] not in (np.float32, np.int8, np.int16):
        problems.append(
            f"its window model takes {len(window.inputs)} inputs; a leaf-edge model takes one waveform"
        )
    if window.clip_samples != spec.clip_samples:
        problems.append(
            f"its input takes {window.clip_samples} samples, its metadata says {spec.clip_samples}"
        )
    if window.output_size != len(metadata.labels):
        problems.append(f"it gives {window.output_size} scores for {len(metadata.labels)} labels")
    if problems:
        return problems
    if stream is not None:
        info = metadata.leaf_edge["streaming"]
        if stream.hop_samples != info["hop_samples"] or not 0 < stream.hop_samples <= spec.clip_samples:
            problems.append(f"its streaming model's hop ({stream.hop_samples} samples) is not its metadata's")
        elif not 0 <= info["delay_samples"] <= spec.clip_samples:
            problems.append(f"its streaming delay ({info['delay_samples']} samples) is outside the clip")
    if problems:
        return problems
    try:
        window.scores(np.zeros((1, spec.clip_samples), np.float32))
        if stream is not None:
            stream.step(np.zeros(stream.hop_samples, np.float32))
            stream.reset()
    except ScoresError as error:
        problems.append(f"on silence, {error}")
    return problems


class Classifier:
    """A leaf-edge .tflite model, ready to classify audio of any rate and channel count.

    >>> clf = Classifier("models/keywords-leaf.tflite")  # doctest: +SKIP
    >>> clf.labels[:3], clf.sample_rate  # doctest: +SKIP
    (['yes', 'no', 'up'], 16000)
    >>> clf.classify(wave_48k, sample_rate=48000)[0]  # doctest: +SKIP
    Category(label='yes', score=0.98)
    >>> for event in clf.stream(chunks, sample_rate=48000):  # doctest: +SKIP
    ...     print(event.time, event.label, event.score)
    """

    def __init__(self, model: str | Path = DEFAULT_MODEL, num_threads: int = 1, streaming: bool = True):
        path = Path(model)
        if not path.is_file():
            raise ModelFileError(f"{path}: no such model file")
        data = path.read_bytes()
        self.metadata = read_leaf_edge_metadata(data, str(path))
        self.stream_info = self.metadata.leaf_edge.get("streaming") if streaming else None
        self.spec = audio_spec(self.metadata.leaf_edge)
        try:
            self._runner = ModelRunner(data, num_threads)
            self._stream_runner = (
                open_stream(data, self.stream_info, num_threads) if self.stream_info else None
            )
            problems = runtime_problems(self._runner, self._stream_runner, self.metadata, self.spec)
        except (ValueError, RuntimeError, TypeError, OSError, EOFError) as error:  # OSError: bad gzip
            first = (str(error).strip().splitlines() or ["unknown error"])[0]
            raise ModelFileError(f"{path}: LiteRT cannot load it ({first})") from None
        if problems:
            raise ModelFileError(f"{path}: {problems[0]}; convert the run again")
        self.path = path
        self.labels: list[str] = self.metadata.labels
        self.sample_rate: int = self.spec.sample_rate
        self.clip_samples: int = self.spec.clip_samples
        self.settings = DetectionSettings.from_metadata(self.metadata.leaf_edge)
        self.background = tuple(self.metadata.leaf_edge["background_labels"])

    def scores(self, clips: np.ndarray) -> np.ndarray:
        """Scores ``[N, labels]`` of mono float clips ``[N, clip_samples]`` at the model's rate."""
        return self._runner.scores(np.asarray(clips, np.float32))

    def classify(self, waveform: np.ndarray, sample_rate: int, top_k: int = 3) -> list[Category]:
        """The ``top_k`` labels of one clip (any rate, mono or ``[samples, channels]``), best first.

        A clip longer or shorter than the model's is centre-cropped or zero-padded.
        """
        wave = to_mono_float(waveform)
        if sample_rate != self.sample_rate:
            wave = soxr.resample(wave, sample_rate, self.sample_rate).astype(np.float32)
        scores = self.scores(fit_length(wave, self.clip_samples)[np.newaxis])[0]
        best = np.argsort(-scores)[:top_k]
        return [Category(self.labels[i], round(float(scores[i]), 4)) for i in best]

    def uses_streaming_model(self, hop_seconds: float | None = None) -> bool:
        """Whether :meth:`windows` at this hop runs the streaming model (it has one for that hop)."""
        hop = round((hop_seconds or self.settings.hop_seconds) * self.sample_rate)
        return bool(self.stream_info) and hop == self.stream_info["hop_samples"]

    def windows(
        self, chunks: Iterable[np.ndarray], sample_rate: int, hop_seconds: float | None = None
    ) -> Iterator[Window]:
        """Scores of a window every hop along a stream of chunks (a file's blocks, a microphone).

        With the model's streaming hop, the streaming model computes each hop once; otherwise the
        window model reruns on the whole window. Memory stays at one window plus one chunk. A
        stream shorter than one window gives one zero-padded window.
        """
        if self.uses_streaming_model(hop_seconds):
            yield from self._streamed_windows(resampled(chunks, sample_rate, self.sample_rate))
            return
        hop = max(1, round((hop_seconds or self.settings.hop_seconds) * self.sample_rate))
        clip = self.clip_samples
        buffer = np.zeros(0, np.float32)
        start = 0  # stream position of buffer[0], in samples at the model's rate
        end = clip  # where the next window ends
        for chunk in resampled(chunks, sample_rate, self.sample_rate):
            buffer = np.concatenate([buffer, chunk])
            while start + len(buffer) >= end:
                offset = end - clip - start
                yield Window(
                    end / self.sample_rate, self.scores(buffer[offset : offset + clip][np.newaxis])[0]
                )
                end += hop
                drop = min(end - clip - start, len(buffer))
                buffer, start = buffer[drop:], start + drop
        if end == clip and len(buffer):
            yield Window(len(buffer) / self.sample_rate, self.scores(fit_length(buffer, clip)[np.newaxis])[0])

    def _streamed_windows(self, chunks: Iterable[np.ndarray]) -> Iterator[Window]:
        """Windows from the streaming model: one step per hop; the first once a whole window of
        audio has passed its delay. ``time`` is the end of the audio the window's frames cover."""
        hop, delay = self.stream_info["hop_samples"], self.stream_info["delay_samples"]
        self._stream_runner.reset()
        buffer = np.zeros(0, np.float32)
        head = []  # the audio before the first window, for a stream too short to fill one
        fed = 0
        for chunk in chunks:
            buffer = np.concatenate([buffer, chunk])
            if head is not None:
                head.append(chunk)
            while len(buffer) >= hop:
                scores = self._stream_runner.step(buffer[:hop])
                buffer, fed = buffer[hop:], fed + hop
                if fed >= self.clip_samples + delay:
                    head = None
                    yield Window((fed - delay) / self.sample_rate, scores)
        audio = np.concatenate(head) if head else ()
        if len(audio):
            yield Window(
                len(audio) / self.sample_rate, self.scores(fit_length(audio, self.clip_samples)[None])[0]
            )

    def stream(
        self, chunks: Iterable[np.ndarray], sample_rate: int, settings: DetectionSettings | None = None
    ) -> Iterator[Event]:
        """Detection events along a stream of chunks; settings default to the model's."""
        settings = settings or self.settings
        detector = Detector(self.labels, settings, self.background)
        for window in self.windows(chunks, sample_rate, settings.hop_seconds):
            event = detector.update(window.scores, window.time)
            if event is not None:
                yield event
