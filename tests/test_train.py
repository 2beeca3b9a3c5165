"""Training: run folder contents, resume after a kill, refusals and clear errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import soundfile as sf
from click.testing import CliRunner

from leaf_edge.cli import main
from leaf_edge.frontends import make_frontend
from leaf_edge.model import load_model, model_frontend, model_labels
from leaf_edge.runs import TrainConfig, load_run
from leaf_edge.train import train

CLI = [sys.executable, "-m", "leaf_edge.cli"]


def test_a_run_keeps_config_best_model_metrics_and_logs(tiny_run, tiny_keywords):
    for name in ("config.json", "best.keras", "model.keras", "metrics.json"):
        assert (tiny_run / name).is_file(), name
    assert list((tiny_run / "logs").rglob("events.out.tfevents.*"))
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"} <= set(metrics["history"][0])
    final = metrics["final"]
    assert 0 <= final["test_accuracy"] <= 1 and final["best_epoch"] in (1, 2)
    assert metrics["data"]["labels"][-2:] == ["_silence_", "_unknown_"]
    config = json.loads((tiny_run / "config.json").read_text())
    assert config["data"] == str(tiny_keywords) and config["epochs"] == 2
    assert model_labels(load_model(tiny_run / "model.keras")) == metrics["data"]["labels"]
    assert not [p for p in tiny_run.iterdir() if p.name.startswith(".")]  # no temporaries left


def run_cli(*args, timeout=600):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env)


def test_killed_training_resumes_from_the_last_finished_epoch(tiny_keywords, tmp_path):
    run = tmp_path / "run"
    args = ["train", tiny_keywords, "--out", run, "--epochs", "3", "--batch-size", "8", "--no-rooms"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    first = subprocess.Popen(
        [*CLI, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env
    )
    metrics_path = run / "metrics.json"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and first.poll() is None:
        if metrics_path.exists() and len(json.loads(metrics_path.read_text())["history"]) >= 1:
            break
        time.sleep(0.1)
    assert first.poll() is None, "training ended before it could be interrupted"
    first.send_signal(signal.SIGKILL)
    first.wait()
    before = json.loads(metrics_path.read_text())["history"]
    assert not (run / "model.keras").exists()

    second = run_cli(*args)
    assert second.returncode == 0, second.stdout + second.stderr
    epochs_started = [line for line in second.stdout.splitlines() if line.startswith("Epoch ")]
    assert "Epoch 1/3" not in epochs_started and epochs_started[-1] == "Epoch 3/3"
    history = json.loads(metrics_path.read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[0] == before[0]
    assert (run / "model.keras").exists()

    third = run_cli(*args)
    assert third.returncode == 0 and "already trained" in third.stdout


def test_other_options_on_an_existing_run_are_refused(tiny_run, tiny_keywords):
    result = CliRunner().invoke(main, ["train", str(tiny_keywords), "--out", str(tiny_run), "--lr", "0.01"])
    assert result.exit_code == 1
    assert "other options" in result.output and "learning_rate" in result.output


def test_a_finished_run_that_lost_a_history_row_is_not_trained_again(tiny_run, tmp_path):
    """A kill while an epoch was being logged can lose its row of the history (seen on a 30-epoch
    run: 29 rows, epochs 1-30); the run is still finished when its last epoch is, and rerunning its
    command must not train again."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns("logs", "eval-*"))
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["history"] = metrics["history"][1:]  # the first epoch's row lost
    (run / "metrics.json").write_text(json.dumps(metrics))
    model_before = (run / "model.keras").read_bytes()
    said = []
    config = TrainConfig.from_dict(json.loads((run / "config.json").read_text()))
    train(config, run, verbose=0, log=said.append)
    assert any("already trained" in line for line in said), said
    assert not any("extending" in line for line in said)
    assert (run / "model.keras").read_bytes() == model_before


def make_tree(root, labels, per_label, level=0.3):
    rng = np.random.default_rng(0)
    for j, label in enumerate(labels):
        (root / label).mkdir(parents=True)
        t = np.arange(16000) / 16000
        for i in range(per_label):
            tone = np.sin(2 * np.pi * (300 * (j + 1) + 5 * i) * t) + 0.03 * rng.standard_normal(16000)
            wave = level * tone
            sf.write(root / label / f"s{i}_nohash_0.wav", wave, 44100 if i % 2 else 16000)


def test_corrupt_files_are_reported_and_training_goes_on(tmp_path):
    data = tmp_path / "data"
    make_tree(data, ["low", "mid", "high"], per_label=30)
    (data / "mid" / "s99_nohash_0.wav").write_text("not audio, only named like it")
    result = run_cli("train", data, "--out", tmp_path / "run", "--epochs", "1", "--batch-size", "8",
                     "--frontend", "mel", "--no-augment")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "unreadable file(s)" in result.stdout and "s99_nohash_0.wav" in result.stdout
    assert (tmp_path / "run" / "model.keras").exists()


def test_bad_data_gives_a_one_line_error(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(main, ["train", str(tmp_path / "nope"), "--out", str(tmp_path / "r1")])
    assert missing.exit_code == 1 and "is not a folder" in missing.output
    one_label = tmp_path / "one"
    make_tree(one_label, ["only"], per_label=3)
    result = runner.invoke(main, ["train", str(one_label), "--out", str(tmp_path / "r2")])
    assert result.exit_code == 1 and "only one label" in result.output
    two = tmp_path / "two"
    make_tree(two, ["low", "high"], per_label=3)
    nowhere = str(tmp_path / "nowhere")
    args = ["train", str(two), "--out", str(tmp_path / "r3"), "--background", nowhere]
    bad_background = runner.invoke(main, args)
    assert bad_background.exit_code == 1 and f"--background {nowhere}:" in bad_background.output
    assert not (tmp_path / "r3").exists()  # nothing written: the same command, mended, starts afresh
    args = ["train", str(two), "--out", str(tmp_path / "r5"), "--context-words", "--keyword-fragments"]
    no_unknown = runner.invoke(main, args)
    assert no_unknown.exit_code == 1 and no_unknown.output.strip().splitlines() == [
        "Error: --context-words and --keyword-fragments: the data set needs an _unknown_ class, "
        "the words they use"
    ]
    assert not (tmp_path / "r5").exists()
    bad_speed = runner.invoke(
        main, ["train", str(two), "--out", str(tmp_path / "r4"), "--speed-range", "1.4,0.7"]
    )
    assert bad_speed.exit_code == 2 and "--speed-range" in bad_speed.output and not (tmp_path / "r4").exists()
    args = ["train", str(two), "--out", str(tmp_path / "r6"), "--no-augment", "--context-words", "--babble"]
    contradiction = runner.invoke(main, [*args, "--mixup", "0.2"])
    assert contradiction.exit_code == 2 and not (tmp_path / "r6").exists()
    said = "--no-augment turns all augmentation off: drop --no-augment, or --babble, --context-words, --mixup"
    assert said in contradiction.output
    for bad in (missing, result, bad_background):
        assert "Traceback" not in bad.output and len(bad.output.strip().splitlines()) == 1


def test_a_run_without_one_engine_is_scored_on_that_engine(tiny_keywords, tmp_path):
    run = tmp_path / "no-flite"
    args = ["train", str(tiny_keywords), "--out", str(run), "--frontend", "mel", "--epochs", "1"]
    result = CliRunner().invoke(
        main, [*args, "--batch-size", "8", "--no-rooms", "--hold-out-engine", "flite"]
    )
    assert result.exit_code == 0, result.output
    assert "flite (held out)" in result.output
    metrics = json.loads((run / "metrics.json").read_text())
    held_out = sum(metrics["data"]["clips"]["held_out"].values())
    assert held_out > 0 and 0 <= metrics["final"]["held_out_accuracy"] <= 1
    evaluated = CliRunner().invoke(
        main, ["evaluate", str(run), str(tiny_keywords), "--split", "held_out", "--json"]
    )
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads(evaluated.output)
    assert report["examples"] == held_out and set(report["by_engine"]) == {"flite"}
    assert abs(report["accuracy"] - metrics["final"]["held_out_accuracy"]) < 1e-6
    tested = CliRunner().invoke(main, ["evaluate", str(run), str(tiny_keywords), "--json"])
    assert "flite" not in json.loads(tested.output)["by_engine"]


def test_a_frozen_frontend_stays_at_its_initialisation(tiny_keywords, tmp_path):
    """``--freeze-frontend`` trains the classifier only: LEAF's filters and PCEN stay as initialised."""
    run = tmp_path / "frozen"
    args = ["train", str(tiny_keywords), "--out", str(run), "--gabor", "grouped", "--epochs", "1"]
    result = CliRunner().invoke(main, [*args, "--batch-size", "8", "--no-rooms", "--freeze-frontend"])
    assert result.exit_code == 0, result.output
    model, config = load_run(run)
    assert config.freeze_frontend
    fresh = make_frontend("leaf", config.spec, "grouped")
    fresh.build((None, config.spec.clip_samples))
    trained = model_frontend(model).get_weights()
    assert len(trained) == len(fresh.get_weights()) > 0
    for after, before in zip(trained, fresh.get_weights(), strict=True):
        np.testing.assert_array_equal(after, before)


def test_a_small_set_validates_with_current_batchnorm_statistics_and_keeps_a_late_epoch(tmp_path):
    """Regression: with BatchNorm's moving averages (momentum 0.99) a few dozen steps an epoch
    validate at chance, so the best validation accuracy was epoch 1's. Re-estimated before each
    validation, the statistics match the weights: validation follows training, a late epoch is kept,
    and last.keras holds the last one. Quiet tones put the log features far from BatchNorm's
    initial statistics, so that stale averages would validate at chance (measured: 1/3 every epoch)."""
    data = tmp_path / "tones"
    make_tree(data, ["low", "mid", "high"], per_label=24, level=1e-3)
    run = tmp_path / "run"
    result = run_cli("train", data, "--out", run, "--frontend", "mel", "--epochs", "3", "--batch-size", "8",
                     "--no-augment", "--split-by", "file", "--validation-share", "0.25")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["classifier"] == "cnn-small" and metrics["steps_per_epoch"] == 50
    history = metrics["history"]
    assert all(h["bn_reestimated_batches"] == 10 for h in history)
    assert history[-1]["val_accuracy"] >= 0.9
    assert metrics["final"]["best_epoch"] >= 2 and metrics["final"]["validation_accuracy"] >= 0.9
    assert "BatchNorm re-estimated on 10 training batches" in result.stdout
    assert f"kept epoch {metrics['final']['best_epoch']} of 3" in result.stdout
    last = load_model(run / "last.keras")
    assert model_labels(last) == ["high", "low", "mid"]

    # the small-set classifier converts to int8 builtins; labels without unknown words: an events task
    model = tmp_path / "tones.tflite"
    converted = run_cli("convert", run, "-o", model, "--quantize", "int8", "--calibration-draws", "1",
                        "--json")  # fmt: skip
    assert converted.returncode == 0, converted.stdout + converted.stderr
    report = json.loads(converted.stdout)
    assert report["accuracy_tflite"] >= 0.9 and report["warnings"] == []
    from device.metadata import read_leaf_edge_metadata

    entry = read_leaf_edge_metadata(model.read_bytes()).leaf_edge
    assert entry["task"] == "events"
    assert entry["detection"]["hop_seconds"] == entry["audio"]["clip_seconds"] / 4
    assert entry["classifier"] == "cnn-small"


def test_a_finished_run_goes_on_with_more_epochs(tiny_keywords, tmp_path):
    run = tmp_path / "run"
    args = ["train", tiny_keywords, "--out", run, "--frontend", "mel", "--batch-size", "8", "--no-rooms"]
    first = run_cli(*args, "--epochs", "1")
    assert first.returncode == 0, first.stdout + first.stderr
    before = json.loads((run / "metrics.json").read_text())["history"]
    second = run_cli(*args, "--epochs", "2")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "extending the finished run from epoch 1 to 2" in second.stdout
    history = json.loads((run / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2] and history[0] == before[0]
    assert (run / "model.keras").exists()
    fewer = run_cli(*args, "--epochs", "1")
    assert fewer.returncode == 1 and "epochs differ" in fewer.stderr


def test_a_second_train_on_a_folder_in_training_refuses_in_one_line(tmp_path):
    """Two `train` processes on one --out once both died and left a 0-byte latest.weights.h5."""
    from leaf_edge.runs import LOCK_FILE

    data = tmp_path / "tones"
    make_tree(data, ["low", "high"], per_label=8)
    run = tmp_path / "run"
    args = ["train", str(data), "--out", str(run), "--frontend", "mel", "--epochs", "50", "--batch-size", "8",
            "--no-augment", "--split-by", "file"]  # fmt: skip
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    first = subprocess.Popen([*CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 300
        while not (run / LOCK_FILE).exists() or not (run / LOCK_FILE).read_text().strip():
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.5)
        second = CliRunner().invoke(main, args)
    finally:
        first.kill()
        first.wait()
    assert second.exit_code == 1 and "is being trained by another process" in second.output
    assert f"(pid {first.pid})" in second.output and len(second.output.strip().splitlines()) == 1


def test_a_write_that_fails_is_one_line_and_leaves_no_half_written_file(tmp_path):
    """A full disk, as the file-size limit makes it (EFBIG where ENOSPC would come): the run says
    so in one line and keeps no model under its name, nor a temporary one."""
    from tests.processes import small_disk

    data = tmp_path / "tones"
    make_tree(data, ["low", "mid", "high"], per_label=12)
    run = tmp_path / "run"

    command = [*CLI, "train", str(data), "--out", str(run), "--frontend", "mel", "--epochs", "1",
               "--batch-size", "8", "--no-augment", "--split-by", "file"]  # fmt: skip
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=600, env=env, preexec_fn=small_disk(64 * 1024)
    )
    assert result.returncode == 1, result.stdout[-1000:] + result.stderr[-2000:]
    assert "[Errno 27]" in result.stderr and "Traceback" not in result.stderr  # EFBIG: File too large
    assert not (run / "best.keras").exists() and not list(run.glob(".*.keras"))


def test_a_run_folder_that_cannot_be_made_is_one_line(tmp_path):
    (tmp_path / "file").write_text("")
    data = tmp_path / "tones"
    make_tree(data, ["low", "high"], per_label=8)
    result = CliRunner().invoke(main, ["train", str(data), "--out", str(tmp_path / "file" / "run")])
    assert result.exit_code == 1 and "Not a directory" in result.output
    assert len(result.output.strip().splitlines()) == 1


TONE_ARGS = ["--frontend", "mel", "--batch-size", "8", "--no-augment", "--split-by", "file"]


def test_a_first_backup_cut_short_by_a_kill_costs_that_epoch_only(tmp_path):
    """Keras falls back to the previous backup when the latest is unreadable; after epoch 1
    there is none, and the rerun used to fail on "Unable to synchronously open file"."""
    data = tmp_path / "tones"
    make_tree(data, ["low", "high"], per_label=8)
    run = tmp_path / "run"
    args = ["train", data, "--out", run, "--epochs", "1", *TONE_ARGS]
    assert run_cli(*args).returncode == 0
    for name in ("model.keras", "metrics.json", "best.keras", "last.keras", "conversion.npz"):
        (run / name).unlink()
    (run / "backup").mkdir()
    (run / "backup" / "latest.weights.h5").write_bytes(b"\x89HDF\r\n half a file")  # where the kill fell
    (run / "backup" / "training_metadata.json").write_text('{"epoch": 1, "batch": 0}')
    again = run_cli(*args)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert "epoch 1: validation accuracy" in again.stdout and (run / "model.keras").exists()


def test_an_epoch_backed_up_but_not_logged_is_logged_at_the_rerun_without_training_it_again(tmp_path):
    """A kill after an epoch's backup and before its files (metrics.json, best.keras) once lost
    the epoch from the history and from the best-model choice."""
    import shutil

    data = tmp_path / "tones"
    make_tree(data, ["low", "high"], per_label=8)
    run, frozen = tmp_path / "run", tmp_path / "frozen"
    args = ["--epochs", "3", *TONE_ARGS]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    first = subprocess.Popen([*CLI, "train", str(data), "--out", str(run), *args], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    state = run / "backup" / "training_metadata.json"
    deadline = time.monotonic() + 300
    while not (state.exists() and state.read_text().strip()):
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    first.send_signal(signal.SIGSTOP)  # frozen mid-run: copy what a kill would leave
    shutil.copytree(run, frozen, ignore=shutil.ignore_patterns("train.lock"))
    first.kill()
    first.wait()
    backed_up = json.loads((frozen / "backup" / "training_metadata.json").read_text())["epoch"]
    logged = frozen / "metrics.json"  # the epoch's files as the kill left them: not yet written
    if logged.exists():
        metrics = json.loads(logged.read_text())
        metrics["history"] = [h for h in metrics["history"] if h["epoch"] < backed_up]
        logged.write_text(json.dumps(metrics))
    if backed_up == 1:
        (frozen / "best.keras").unlink(missing_ok=True)
    again = run_cli("train", data, "--out", frozen, *args)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert f"epoch {backed_up} was backed up but not yet logged" in again.stdout
    assert f"Epoch {backed_up}/3" not in again.stdout
    history = json.loads((frozen / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3] and (frozen / "best.keras").exists()
