"""Fuzz the device path: seeded mutations of audio files, of the leaf-edge entry and of the
embedded models, each classified as a user would; prints counts by outcome as JSON.

    .venv/bin/python bench/fuzz.py [--cases 100000] [--workers 2] [--seed 0]

Cases run in worker processes, a batch at a time; a worker reports each case before it runs it,
so a case that kills its process (a native crash) or runs past ``--case-seconds`` (a hang) is
known, and the batch goes on from the next case in a new worker. Outcomes: ``ok`` (a result),
``refused`` (the project's own one-line error), ``exception:TYPE`` (anything else: a defect),
``crash`` and ``hang`` (defects). Needs only the device packages.
"""

from __future__ import annotations

import argparse
import collections
import copy
import io
import json
import multiprocessing
import multiprocessing.pool
import queue
import random
import sys
import tempfile
import traceback
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from device.contract import LEAF_EDGE_FILE, LeafEdgeError  # noqa: E402
from device.metadata import model_parts, with_files  # noqa: E402
from device.models import MODELS_DIR  # noqa: E402

MODEL = MODELS_DIR / "instruments-leaf.tflite"  # small, with a streaming model
KINDS = ("audio", "entry", "model")
ODD_VALUES = [
    None,
    "2",
    "",
    -1,
    0,
    1e-9,
    -1e9,
    1e30,
    float("nan"),
    [],
    {},
    [1, 2],
    "x" * 300,
    True,
    "caf\xe9",
]


def audio_bytes(rng: random.Random) -> bytes:
    """A WAV (clip length or long, any rate and channel count) with a few bytes changed."""
    rate = rng.choice([8000, 16000, 44100, 48000])
    seconds, channels = rng.choice([0.5, 2.0, 5.0]), rng.choice([1, 2])
    t = np.arange(int(rate * seconds)) / rate
    wave = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 4000) * t)
    out = io.BytesIO()
    sf.write(out, np.repeat(wave[:, None], channels, axis=1), rate, format="WAV",
             subtype=rng.choice(["PCM_16", "PCM_U8", "FLOAT", "PCM_24"]))  # fmt: skip
    data = bytearray(out.getvalue())
    for _ in range(rng.randint(1, 4)):
        how = rng.random()
        if how < 0.4:  # flip bytes, mostly in the header
            at = rng.randrange(min(len(data), 64) if rng.random() < 0.7 else len(data))
            data[at] = rng.randrange(256)
        elif how < 0.6:  # a header field (rate, channels, sizes) set to anything
            at = rng.choice([4, 22, 24, 28, 34, 40])
            data[at : at + 4] = rng.randrange(2**32).to_bytes(4, "little")
        elif how < 0.8:
            data = data[: rng.randrange(len(data))]
        else:
            data += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
    return bytes(data)


def mutate_entry(entry, rng: random.Random) -> None:
    """One change somewhere in the entry: a key removed or a value replaced by an odd one."""
    parent, key = None, None
    target = entry
    for _ in range(rng.randint(1, 3)):
        if not isinstance(target, (dict, list)) or not target:
            break
        parent = target
        key = rng.choice(list(target) if isinstance(target, dict) else range(len(target)))
        target = target[key]
        if rng.random() < 0.4:
            break
    if parent is None:
        return
    if isinstance(parent, dict) and rng.random() < 0.3:
        del parent[key]
    else:
        parent[key] = copy.deepcopy(rng.choice(ODD_VALUES))


def entry_bytes(model: bytes, rng: random.Random) -> bytes:
    """The model with its leaf-edge entry changed (the archive rewritten, so its checksums hold)."""
    flatbuffer, files = model_parts(model)
    if rng.random() < 0.15:  # not JSON, or JSON of another shape
        files[LEAF_EDGE_FILE] = rng.choice(
            [b"{", b"[]", b'"x"', b"null", bytes(rng.randrange(256) for _ in range(40))]
        )
    else:
        entry = json.loads(files[LEAF_EDGE_FILE])
        for _ in range(rng.randint(1, 3)):
            mutate_entry(entry, rng)
        files[LEAF_EDGE_FILE] = json.dumps(entry).encode()
    return with_files(flatbuffer, files)


def model_bytes(model: bytes, rng: random.Random) -> bytes:
    """The model with bytes changed in its flatbuffer or in a member, or cut short."""
    data = bytearray(model)
    if rng.random() < 0.1:
        return bytes(data[: rng.randrange(len(data))])
    with zipfile.ZipFile(io.BytesIO(model)) as archive:
        members = archive.infolist()
    start = min(info.header_offset for info in members)
    if rng.random() < 0.5:
        low, high = 0, start  # the window model
    else:
        info = rng.choice(members)
        low = info.header_offset + 30 + len(info.filename)
        high = low + info.compress_size
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(low, max(low + 1, high))] ^= 1 << rng.randrange(8)
    return bytes(data)


def run_case(kind: str, seed: int, model: bytes, folder: Path) -> str:
    """Build case ``seed`` of ``kind``, use it as `leaf-edge classify` would; the outcome."""
    from device.classifier import Classifier
    from device.classify_files import classify_file

    rng = random.Random(f"{kind}-{seed}")
    try:
        if kind == "audio":
            path = folder / "case.wav"
            path.write_bytes(audio_bytes(rng))
            classifier = run_case.classifier
        else:
            path = folder / "case.tflite"
            path.write_bytes(entry_bytes(model, rng) if kind == "entry" else model_bytes(model, rng))
            classifier = Classifier(path)
            path = MODELS_DIR / "demo-keywords.wav"
        result = classify_file(classifier, path, classifier.settings)
        json.dumps(result, allow_nan=False)
        return "ok"
    except LeafEdgeError:
        return "refused"
    except Exception as error:  # noqa: BLE001 - what is counted
        frame = traceback.extract_tb(error.__traceback__)[-1]
        return f"exception:{type(error).__name__} at {Path(frame.filename).name}:{frame.lineno}"


def worker(cases: list[tuple[str, int]], reports: multiprocessing.Queue) -> None:
    from device.classifier import Classifier

    model = MODEL.read_bytes()
    run_case.classifier = Classifier(MODEL)
    with tempfile.TemporaryDirectory(prefix="leaf-edge-fuzz-") as folder:
        for kind, seed in cases:
            reports.put(("start", kind, seed))
            reports.put(("done", kind, seed, run_case(kind, seed, model, Path(folder))))
    reports.put(("end",))


def run_batch(cases: list[tuple[str, int]], case_seconds: float) -> tuple[collections.Counter, list]:
    """Run ``cases`` in worker processes, a new one after each crash or hang: outcome counts and
    the defects (foreign exceptions, crashes, hangs) with their cases."""
    counts, defects = collections.Counter(), []
    context = multiprocessing.get_context("spawn")
    while cases:
        reports = context.Queue()
        process = context.Process(target=worker, args=(cases, reports), daemon=True)
        process.start()
        current, finished = None, 0
        while True:
            try:
                report = reports.get(timeout=case_seconds if current else 120)
            except queue.Empty:
                outcome = "crash" if not process.is_alive() else "hang"
                process.kill()
                break
            if report[0] == "start":
                current = report[1:]
            elif report[0] == "done":
                counts[report[3].split(" at ")[0]] += 1
                if report[3].startswith("exception"):
                    defects.append({"case": list(report[1:3]), "outcome": report[3]})
                current, finished = None, finished + 1
            else:
                outcome = None
                break
        process.join(5)
        if outcome is None:
            break
        counts[outcome] += 1
        if current is not None:
            defects.append({"case": list(current), "outcome": outcome})
            finished += 1
        cases = cases[finished:]
    return counts, defects


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--case-seconds", type=float, default=30.0, help="A case running longer is a hang.")
    args = parser.parse_args()
    all_cases = [(KINDS[i % len(KINDS)], args.seed * 10_000_000 + i) for i in range(args.cases)]
    shares = [all_cases[w :: args.workers] for w in range(args.workers)]
    with multiprocessing.pool.ThreadPool(args.workers) as pool:
        results = pool.map(lambda share: run_batch(share, args.case_seconds), shares)
    counts = sum((c for c, _ in results), collections.Counter())
    defects = [d for _, found in results for d in found]
    summary = {
        "model": MODEL.name,
        "cases": args.cases,
        "by_kind": collections.Counter(kind for kind, _ in all_cases),
        "outcomes": dict(counts.most_common()),
        "defects": len(defects),
        "first_defects": defects[:50],
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
