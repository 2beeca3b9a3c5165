"""The leaf-edge entry's contract: the audio spec read by one function, older entries upgraded,
and entries the runtime cannot trust refused in one line."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from device import Classifier
from device.contract import LEAF_EDGE_FILE, AudioSpec, audio_spec, entry_problems
from device.metadata import ModelFileError, read_leaf_edge_metadata, with_leaf_edge_entry
from device.models import MODELS_DIR

MODEL = MODELS_DIR / "keywords-mel.tflite"  # small, and no streaming model to load


def stored_entry(path) -> dict:
    """The entry as the file stores it (read_metadata hands back today's layout)."""
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as archive:
        return json.loads(archive.read(LEAF_EDGE_FILE))


def with_entry(tmp_path, entry: dict, name: str = "amended.tflite"):
    out = tmp_path / name
    out.write_bytes(with_leaf_edge_entry(MODEL.read_bytes(), entry))
    return out


def today_entry() -> dict:
    return read_leaf_edge_metadata(MODEL.read_bytes()).leaf_edge


def test_a_format_1_entry_reads_as_the_spec_it_was_written_for(tmp_path):
    """Format 1 kept the sample rate and clip length in "audio" and the framing in "frontend"."""
    old = {**today_entry(), "format": 1}
    old["audio"] = {"sample_rate": 16000, "channels": 1, "clip_seconds": 1.0, "clip_samples": 16000}
    old["frontend"] = {"type": "mel", "n_filters": 40, "window_ms": 25.0, "stride_ms": 10.0,
                       "init_range_hz": [60.0, 7800.0]}  # fmt: skip
    path = with_entry(tmp_path, old)
    assert stored_entry(path)["format"] == 1
    entry = read_leaf_edge_metadata(path.read_bytes()).leaf_edge
    assert entry["format"] == 2 and entry["frontend"] == {"type": "mel"}
    assert audio_spec(entry) == AudioSpec(16000, 1.0, 40, 25.0, 10.0, 60.0, 7800.0)
    classifier = Classifier(path)
    assert (classifier.sample_rate, classifier.clip_samples) == (16000, 16000)


def test_an_amended_file_is_written_in_todays_layout(tmp_path):
    path = with_entry(tmp_path, today_entry())
    stored = stored_entry(path)
    assert stored["format"] == 2 and AudioSpec(**stored["audio"]) == audio_spec(today_entry())
    assert entry_problems(stored) == []


def broken(change) -> dict:
    entry = json.loads(json.dumps(today_entry()))
    change(entry)
    return entry


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda e: e["audio"].pop("sample_rate"), "has no audio.sample_rate"),
        (lambda e: e["audio"].update(sample_rate="16000"), "audio.sample_rate is str, not int"),
        (lambda e: e["audio"].update(sample_rate=22050), "differs from the input's audio properties"),
        (lambda e: e["audio"].update(clip_seconds=2.0), "its input takes 16000 samples"),
        (lambda e: e["audio"].update(min_freq=9000.0), "audio: need 0 <= --min-freq"),
        (lambda e: e.update(labels=e["labels"][::-1]), "labels differ from labels.txt's"),
        (lambda e: e.update(background_labels=["_noise_"]), "names labels the model does not have"),
        (lambda e: e["detection"].update(threshold=1.5), "detection: thresholds are probabilities"),
        (lambda e: e.update(streaming={"file": "stream.tflite.gz"}), "has no streaming.hop_samples"),
        (lambda e: e.pop("quantization"), "has no quantization"),
        (lambda e: e.update(format="2"), "format is str, not int"),
        (lambda e: e.update(format=None), "format is NoneType, not int"),
        (lambda e: e.update(detection=[0.25, 3]), "detection is list, not dict"),
        (lambda e: e["detection"].update(threshold="0.6"), "detection:"),
        (lambda e: e["detection"].update(hop_seconds=1e-9), "detection: the hop must be"),
        (lambda e: e.update(background_labels=5), "background_labels is int, not list"),
        (
            lambda e: e["audio"].update(clip_seconds=float("nan")),
            "audio: the audio spec's values must be finite",
        ),
    ],
)
def test_an_entry_the_runtime_cannot_trust_is_a_one_line_error(tmp_path, change, message):
    path = with_entry(tmp_path, broken(change))
    with pytest.raises(ModelFileError) as caught:
        Classifier(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert str(path) in str(caught.value)


def test_a_file_from_a_newer_leaf_edge_says_so(tmp_path):
    path = with_entry(tmp_path, {**today_entry(), "format": 99, "audio": "a new layout"})
    with pytest.raises(ModelFileError, match="newer leaf-edge"):
        Classifier(path)


def rebuilt(tmp_path, source, change_files, change_entry=lambda e: None, name="changed.tflite"):
    """``source`` with its archive members changed by ``change_files(files)`` and its entry by
    ``change_entry(entry)``, sealed again (a file a converter could have written)."""
    from device.metadata import model_parts, with_files

    flatbuffer, files = model_parts(source.read_bytes())
    entry = read_leaf_edge_metadata(source.read_bytes()).leaf_edge
    change_files(files)
    change_entry(entry)
    out = tmp_path / name
    out.write_bytes(with_leaf_edge_entry(with_files(flatbuffer, files), entry))
    return out


def flipped(data: bytes, where: int, count: int = 8) -> bytes:
    damaged = bytearray(data)
    for i in range(where, where + count):
        damaged[i] ^= 0x5A
    return bytes(damaged)


STREAMING = MODELS_DIR / "keywords-leaf.tflite"


def test_the_shipped_files_carry_an_integrity_record():
    for path in MODELS_DIR.glob("*.tflite"):
        assert "integrity" in stored_entry(path), path.name


@pytest.mark.parametrize("part", ["stream.tflite.gz", "flatbuffer"])
def test_flipped_bytes_anywhere_are_a_one_line_error_before_litert_runs(tmp_path, part):
    """Eight flipped bytes inside the embedded streaming model once passed the constructor and
    aborted the process natively at the first long stream ("double free or corruption")."""
    data = STREAMING.read_bytes()
    if part == "flatbuffer":
        where = len(data) // 3  # inside the weights
    else:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = archive.getinfo(part)
        where = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    path = tmp_path / "damaged.tflite"
    path.write_bytes(flipped(data, where))
    with pytest.raises(ModelFileError) as caught:
        Classifier(path)
    message = str(caught.value)
    expected = "its TFLite flatbuffer changed" if part == "flatbuffer" else f"its {part} fails its checksum"
    assert "is damaged" in message and expected in message and "\n" not in message
    if part == "flatbuffer":  # inspect still describes the file, and says what is damaged
        from device.inspect import describe

        assert describe(path)["integrity"] == "its TFLite flatbuffer"
        assert describe(STREAMING)["integrity"] == "intact"


@pytest.mark.parametrize(
    "change_files, change_entry, message",
    [
        (lambda f: f.update({"labels.txt": b"a\nb\nc\n"}), lambda e: e.update(labels=["a", "b", "c"],
         background_labels=[]), "gives 12 scores for 3 labels"),
        (lambda f: f.update({"labels.txt": "caf\xe9\n".encode("latin-1") * 12}), lambda e: None,
         "labels.txt is not UTF-8 text"),
        (lambda f: None, lambda e: e["streaming"].update(delay_samples=-100000), "outside the clip"),
        (lambda f: None, lambda e: e["streaming"].update(hop_samples=1600), "is not its metadata's"),
        (lambda f: f.pop("stream.tflite.gz"), lambda e: None, "missing from its archive"),
    ],
)  # fmt: skip
def test_a_model_that_contradicts_its_metadata_is_a_one_line_error(
    tmp_path, change_files, change_entry, message
):
    path = rebuilt(tmp_path, STREAMING, change_files, change_entry)
    with pytest.raises(ModelFileError) as caught:
        Classifier(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "text, message",
    [(b"[1, 2]", "is not a JSON object"), (b'"x"', "is not a JSON object"), (b"{", "not valid JSON")],
)
def test_an_entry_that_is_not_an_object_is_a_one_line_error(tmp_path, text, message):
    from device.metadata import model_parts, with_files

    flatbuffer, files = model_parts(MODEL.read_bytes())
    path = tmp_path / "odd.tflite"
    path.write_bytes(with_files(flatbuffer, {**files, LEAF_EDGE_FILE: text}))
    with pytest.raises(ModelFileError, match=message):
        Classifier(path)
