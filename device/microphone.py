"""Live audio from a microphone through sounddevice (PortAudio), as a stream of chunks.

The device is opened at the model's rate when it supports it, else at its own default rate (the
classifier then resamples). Overflows are counted, and so are blocks dropped when the classifier
falls behind: the queue holds at most :data:`QUEUE_SECONDS` of audio, so what you hear is never
more than that late. A stream that dies (the audio server or a USB
microphone goes away) raises no exception in PortAudio, it just stops delivering; the chunk
iterator notices, rescans the devices and reopens, and gives up with :class:`MicrophoneLost`.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from device.contract import LeafEdgeError

QUEUE_SECONDS = 2.0  # audio waiting for the classifier beyond this is dropped, oldest first


class MicrophoneError(LeafEdgeError):
    """No usable input device; the message says what to do."""


class MicrophoneLost(MicrophoneError):
    """The input stream stopped delivering audio and could not be reopened."""


def _sounddevice():
    try:
        import sounddevice
    except OSError as error:  # the Python package is there but PortAudio is not
        raise MicrophoneError(
            f"PortAudio is missing ({error}); on Debian: apt-get install libportaudio2"
        ) from None
    return sounddevice


def input_devices() -> list[dict]:
    """Every input device: index, name, host API, channels and default sample rate."""
    sd = _sounddevice()
    apis = sd.query_hostapis()
    return [
        {
            "index": index,
            "name": device["name"],
            "host_api": apis[device["hostapi"]]["name"],
            "channels": device["max_input_channels"],
            "default_rate": int(device["default_samplerate"]),
        }
        for index, device in enumerate(sd.query_devices())
        if device["max_input_channels"] > 0
    ]


def resolve_device(choice: str | None) -> int:
    """The device index for ``--device`` (an index, a part of a name, or None for the default)."""
    sd = _sounddevice()
    if not input_devices():
        raise MicrophoneError(
            "no input device found (is a microphone connected? `leaf-edge listen --list-devices`)"
        )
    wanted = int(choice) if choice is not None and choice.isdigit() else choice
    try:
        return int(sd.query_devices(wanted, "input")["index"])
    except (ValueError, sd.PortAudioError) as error:
        hint = "see `leaf-edge listen --list-devices`"
        if choice is None:
            raise MicrophoneError(f"no default input device ({error}); {hint}") from None
        raise MicrophoneError(f"no input device matching {choice!r}; {hint}") from None


def capture_rate(device: int, wanted: int) -> int:
    """``wanted`` if the device can record mono float32 at it, else the device's default rate."""
    sd = _sounddevice()
    try:
        sd.check_input_settings(device=device, samplerate=wanted, channels=1, dtype="float32")
        return wanted
    except (ValueError, sd.PortAudioError):
        return int(sd.query_devices(device, "input")["default_samplerate"])


@dataclass
class CaptureStats:
    """What happened during capture, for the closing summary."""

    seconds: float = 0.0
    overflows: int = 0
    reopened: int = 0


class Microphone:
    """Chunks of mono float32 audio from one input device, with overflow counting and recovery.

    >>> mic = Microphone(resolve_device(None), 16000)  # doctest: +SKIP
    >>> for chunk in mic.chunks(duration=5): ...  # doctest: +SKIP
    """

    def __init__(self, device: int, rate: int, block_seconds: float = 0.05, stall_seconds: float = 2.0):
        self.device, self.rate = device, rate
        self.block = max(1, round(block_seconds * rate))
        self.stall_seconds = stall_seconds
        self.stats = CaptureStats()
        self.started_at: float | None = None  # time.monotonic() of the first sample
        self._queue: queue.Queue[np.ndarray] = queue.Queue(
            maxsize=max(1, round(QUEUE_SECONDS * rate / self.block))
        )
        self._stream = None
        self._name = None

    def _callback(self, data, frames, time_info, status) -> None:
        if status.input_overflow:
            self.stats.overflows += 1
        while True:
            try:
                self._queue.put_nowait(data[:, 0].copy())
                return
            except queue.Full:  # the classifier is behind: drop the oldest block, count it
                self.stats.overflows += 1
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    pass

    def _open(self) -> None:
        sd = _sounddevice()
        self._name = sd.query_devices(self.device)["name"]
        self._stream = sd.InputStream(
            device=self.device, samplerate=self.rate, channels=1, dtype="float32",
            blocksize=self.block, callback=self._callback,
        )  # fmt: skip
        self._stream.start()

    def _reopen(self, attempts: int = 3) -> bool:
        """Rescan the devices and reopen the same one (by name); False if it cannot be done."""
        sd = _sounddevice()
        name = self._name
        self.close()
        for _ in range(attempts):
            time.sleep(1.0)
            try:
                sd._terminate()  # PortAudio only sees new or returning devices after a rescan
                sd._initialize()
                self.device = resolve_device(name)
                self._open()
                self.stats.reopened += 1
                return True
            except (MicrophoneError, sd.PortAudioError, ValueError):
                continue
        return False

    def chunks(self, duration: float | None = None) -> Iterator[np.ndarray]:
        """Audio as it arrives, for ``duration`` seconds or until the caller stops."""
        self._open()
        wanted = None if duration is None else int(duration * self.rate)
        received = 0
        last_audio = time.monotonic()
        try:
            while wanted is None or received < wanted:
                try:
                    chunk = self._queue.get(timeout=0.25)
                except queue.Empty:
                    if time.monotonic() - last_audio < self.stall_seconds and self._stream.active:
                        continue
                    if not self._reopen():
                        raise MicrophoneLost(
                            f"the input device stopped delivering audio after {received / self.rate:.1f} s "
                            "(unplugged, or the audio server stopped) and could not be reopened"
                        ) from None
                    last_audio = time.monotonic()
                    continue
                last_audio = time.monotonic()
                if self.started_at is None:
                    self.started_at = last_audio - len(chunk) / self.rate
                if wanted is not None:
                    chunk = chunk[: wanted - received]
                received += len(chunk)
                self.stats.seconds = received / self.rate
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        if self._stream is not None:
            try:
                self._stream.abort()
                self._stream.close()
            except Exception:  # a dead device may refuse even to close
                pass
            self._stream = None
