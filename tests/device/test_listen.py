"""``leaf-edge listen`` through real PortAudio on a PulseAudio virtual microphone."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from tests.processes import interruptible
from tests.speech import recording, write_wav

WORDS = ["yes", "stop", "left", "go", "down", "no"]


def listen(model, env, *args, timeout=120):
    command = [sys.executable, "-m", "leaf_edge.cli", "listen", str(model), *args]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=interruptible
    )


def started(process, seconds=3.0):
    """Give the listener time to load the model and open the stream (a busy machine is slow)."""
    time.sleep(seconds)
    assert process.poll() is None, process.communicate()[1][-2000:]


def test_listen_hears_the_fed_keywords_in_order(virtual_mic, keyword_model, tmp_path):
    audio, ends = recording(WORDS)
    wav = write_wav(tmp_path / "keywords.wav", audio)
    process = listen(keyword_model, virtual_mic.env, "--duration", str(len(audio) / 16000 + 6), "--json")
    started(process)
    virtual_mic("feed", str(wav))
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-2000:]
    lines = [json.loads(line) for line in out.splitlines()]
    events, summary = lines[:-1], lines[-1]["summary"]
    assert [e["label"] for e in events] == WORDS, events
    gaps = [b["time"] - a["time"] for a, b in zip(events, events[1:], strict=False)]
    expected = [b - a for a, b in zip(ends, ends[1:], strict=False)]
    assert all(abs(g - e) <= 0.6 for g, e in zip(gaps, expected, strict=True)), (gaps, expected)
    assert summary["events"] == len(WORDS) and summary["overflows"] == 0
    assert all(0 <= e["latency_ms"] < 1000 for e in events)


def test_capture_at_another_rate_is_resampled(virtual_mic, keyword_model, tmp_path):
    audio, _ = recording(WORDS[:3], seed=1)
    wav = write_wav(tmp_path / "three.wav", audio)
    process = listen(
        keyword_model, virtual_mic.env, "--duration", str(len(audio) / 16000 + 5), "--rate", "44100"
    )
    started(process)
    virtual_mic("feed", str(wav))
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-2000:]
    assert "at 44100 Hz, resampled to 16000 Hz" in out
    assert "say each keyword on its own, with a pause of half a second or more around it\n" in out
    assert [line.split()[2] for line in out.splitlines() if " s  " in line] == WORDS[:3]


def test_ctrl_c_stops_with_a_summary(virtual_mic, keyword_model):
    process = listen(keyword_model, virtual_mic.env, "--json")
    started(process)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err[-2000:]
    summary = json.loads(out.splitlines()[-1])["summary"]
    assert summary["interrupted"] and summary["seconds"] > 0


def test_a_dying_audio_server_is_noticed(virtual_mic, keyword_model):
    process = listen(keyword_model, virtual_mic.env)
    started(process)
    try:
        virtual_mic("stop")
        _, err = process.communicate(timeout=60)
    finally:
        virtual_mic("start")
    assert process.returncode == 1
    assert "stopped delivering audio" in err and "Traceback" not in err


def test_a_restarted_audio_server_is_reopened(virtual_mic, keyword_model):
    process = listen(keyword_model, virtual_mic.env, "--duration", "12", "--json")
    started(process)
    virtual_mic("stop")
    virtual_mic("start")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-2000:]
    summary = json.loads(out.splitlines()[-1])["summary"]
    assert summary["reopened"] >= 1 and summary["seconds"] == 12.0


def test_no_input_device_is_a_one_line_error(keyword_model, virtual_mic):
    env = {**virtual_mic.env, "PULSE_SERVER": "unix:/nonexistent/socket"}
    result = subprocess.run(
        [sys.executable, "-m", "leaf_edge.cli", "listen", str(keyword_model), "--duration", "1"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1 and "no input device" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_device_name_is_a_one_line_error(keyword_model, virtual_mic):
    result = subprocess.run(
        [sys.executable, "-m", "leaf_edge.cli", "listen", str(keyword_model), "--device", "no-such-mic"],
        env=virtual_mic.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1 and "no input device matching 'no-such-mic'" in result.stderr


def test_list_devices_shows_the_virtual_microphone(virtual_mic):
    result = subprocess.run(
        [sys.executable, "-m", "leaf_edge.cli", "listen", "--list-devices", "--json"],
        env=virtual_mic.env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    devices = json.loads(result.stdout)
    assert {"pulse", "default"} <= {d["name"] for d in devices}


def test_a_listener_that_falls_behind_drops_the_oldest_audio_and_counts_it():
    """PortAudio's callback fills the queue however slow the classifier is: it holds at most
    QUEUE_SECONDS (latency cannot grow without bound), and every block dropped is an overflow."""
    import numpy as np
    import sounddevice as sd

    from device.microphone import QUEUE_SECONDS, Microphone

    mic = Microphone(device=0, rate=16000, block_seconds=0.05)  # not opened: the callback alone
    blocks = 200  # 10 s of audio that nobody takes
    for i in range(blocks):
        mic._callback(np.full((800, 1), i, np.float32), 800, None, sd.CallbackFlags())
    kept = mic._queue.qsize()
    assert kept == round(QUEUE_SECONDS / 0.05) and mic.stats.overflows == blocks - kept
    assert mic._queue.get_nowait()[0] == blocks - kept  # the newest audio is what is left
