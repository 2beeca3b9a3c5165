"""The same recipe under tf.distribute: two local workers on loopback (MultiWorkerMirrored)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_train_one_model(tiny_keywords, tmp_path):
    run = tmp_path / "run"
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    processes = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = {
            **os.environ,
            "TF_CONFIG": json.dumps(tf_config),
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "LEAF_EDGE_DEBUG": "1",
        }
        command = [
            sys.executable, "-m", "leaf_edge.cli", "train", str(tiny_keywords), "--out", str(run),
            "--distribute", "--frontend", "mel", "--epochs", "2", "--batch-size", "8", "--no-augment",
        ]  # fmt: skip
        processes.append(
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        )
    outputs = [p.communicate(timeout=900)[0] for p in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output[-3000:]
    assert "epoch 2/2" in outputs[0] and "epoch 2/2" in outputs[1]  # both workers took part
    metrics = json.loads((run / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    assert (run / "model.keras").exists()
    assert not list(run.glob("leaf-edge-worker-*"))  # the second worker kept its files elsewhere
