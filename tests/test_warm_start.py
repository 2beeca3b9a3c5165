"""``train --init-from RUN``: a run starts from another run's trained weights (fine-tuning)."""

from __future__ import annotations

import shutil

import numpy as np
from click.testing import CliRunner

from leaf_edge.cli import main
from leaf_edge.frontends import make_frontend
from leaf_edge.model import build_model, load_model, model_labels
from leaf_edge.runs import load_run
from leaf_edge.warm_start import copy_weights


def same_weights(layer, other):
    for mine, theirs in zip(layer.get_weights(), other.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_every_fitting_layer_is_copied_and_the_labels_layer_only_for_the_same_labels(tiny_run):
    """The same labels in another order are other labels: the labels layer starts new. A mel
    frontend takes nothing, and the feature normalisation fitted to LEAF's features stays new."""
    source = load_model(tiny_run / "model.keras")
    _, config = load_run(tiny_run)
    labels = model_labels(source)
    cases = (
        ("leaf", labels, ["leaf", "feature_norm", "efficientnet_b0", "logits"], []),
        ("leaf", labels[::-1], ["leaf", "feature_norm", "efficientnet_b0"], ["logits"]),
        ("mel", labels, ["efficientnet_b0", "logits"], ["feature_norm"]),
    )
    for frontend, order, copied, new in cases:
        gabor = "grouped" if frontend == "leaf" else "exact"  # LEAF's weights, evaluated the cheap way
        model = build_model(frontend=make_frontend(frontend, config.spec, gabor), labels=order)
        assert copy_weights(model, source) == (copied, new)
        for name in copied:
            same_weights(model.get_layer(name), source.get_layer(name))
        for name in new:
            assert not np.array_equal(
                model.get_layer(name).get_weights()[0], source.get_layer(name).get_weights()[0]
            )


def test_init_from_starts_from_the_runs_weights_and_keeps_its_classifier(tiny_run, tiny_keywords, tmp_path):
    """At learning rate 0 nothing moves but BatchNorm statistics: the new run's classifier kernels
    and labels layer are the source's, and ``--classifier auto`` keeps the source's EfficientNetB0
    (the tiny set alone would choose cnn-small). Once trained, the run no longer needs its source."""
    source_run = tmp_path / "source"
    shutil.copytree(tiny_run, source_run)
    source = load_model(source_run / "model.keras")
    run = tmp_path / "mel"
    args = ["train", str(tiny_keywords), "--init-from", str(source_run), "--frontend", "mel", "--epochs", "1",
            "--lr", "0", "--batch-size", "16", "--no-rooms", "--out", str(run)]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    said = f"started from {source_run}: efficientnet_b0, logits copied; feature_norm new\n"
    assert said in result.output
    model, config = load_run(run)
    assert config.classifier == "efficientnet-b0" and config.init_from == str(source_run)
    same_weights(model.get_layer("logits"), source.get_layer("logits"))
    kernels = [v for v in model.get_layer("efficientnet_b0").weights if "kernel" in v.path]
    theirs = {v.path: v for v in source.get_layer("efficientnet_b0").weights}
    assert len(kernels) > 50
    for kernel in kernels:
        np.testing.assert_array_equal(kernel.numpy(), theirs[kernel.path].numpy())
    shutil.rmtree(source_run)
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0 and "is already trained" in again.output, again.output


def test_a_source_that_does_not_fit_is_refused_in_one_line(tiny_run, tiny_keywords, tmp_path):
    runner = CliRunner()
    out = tmp_path / "out"
    args = ["train", str(tiny_keywords), "--out", str(out), "--init-from"]
    other_rate = runner.invoke(main, [*args, str(tiny_run), "--sample-rate", "8000"])
    assert other_rate.exit_code == 1, other_rate.output
    assert other_rate.output.strip().splitlines() == [
        f"Error: --init-from {tiny_run} was trained with other audio settings (sample_rate 16000, not 8000)"
    ]
    not_a_run = runner.invoke(main, [*args, str(tiny_keywords)])
    assert not_a_run.exit_code == 1 and not_a_run.output.strip().splitlines() == [
        f"Error: {tiny_keywords} is not a leaf-edge run (no config.json)"
    ]
    nothing_fits = runner.invoke(
        main, [*args, str(tiny_run), "--frontend", "mel", "--classifier", "cnn-small"]
    )
    assert nothing_fits.exit_code == 1 and nothing_fits.output.strip().splitlines() == [
        f"Error: --init-from {tiny_run} has neither this run's frontend nor its classifier "
        "(leaf + efficientnet-b0): nothing to start from"
    ]
    assert not out.exists()  # nothing written: the same command, mended, starts afresh
