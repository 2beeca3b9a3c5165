"""A run folder: its configuration, creating or resuming it, and reading a finished one.

RUN/ holds::

    config.json     the exact configuration (a rerun with other options is refused, except
                    more --epochs: that extends a run, finished or not)
    backup/         the last finished epoch (weights, optimizer, epoch), for resuming
    best.keras      the kept epoch: the latest within one standard error of the best validation
                    accuracy, saved atomically
    last.keras      the last finished epoch, saved atomically
    model.keras     best.keras with BatchNorm statistics re-estimated: the trained model
    metrics.json    per-epoch history, final accuracies, data set summary
    conversion.npz  calibration sets and validation/test clips: the run converts without its
                    data set (leaf_edge.run_files)
    logs/           TensorBoard logs
    train.lock      held while a process trains the run
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from device.atomic import remove_leftovers, write_json
from device.contract import AudioSpec
from leaf_edge.data.augment import AugmentConfig
from leaf_edge.data.folders import DataError, DatasetIndex, hold_out_engine, index_folder
from leaf_edge.model import load_trained, model_classifier


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides what a training run produces."""

    data: str
    frontend: str = "leaf"
    gabor: str = "exact"
    classifier: str = "auto"  # efficientnet-b0, efficientnet-small, or auto (by training-set size)
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 1e-3
    seed: int = 0
    keywords: tuple[str, ...] | None = None
    held_out_engine: str | None = None  # train without this engine's clips, test on them
    split_by: str = "auto"  # lists, speaker, file (see leaf_edge.data.folders.index_folder)
    validation_share: float = 0.1
    test_share: float = 0.1
    test_data: str | None = None  # a separate folder of test clips
    background: str | None = None  # a folder of recordings, or "noise": a _silence_ class from it
    negatives: str | None = None  # a `leaf-edge data negatives` folder (leaf_edge.negative_training)
    checkpoint_by: str = "accuracy"  # or "stream": misses at a false-accept rate (needs negatives)
    freeze_frontend: bool = False  # keep the frontend as it starts (mel-like, or --init-from's)
    init_from: str | None = None  # a finished run whose trained weights the run starts from
    spec: AudioSpec = field(default_factory=AudioSpec)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    distribute: bool = False

    def to_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        values = dict(values)
        values["spec"] = AudioSpec(**values["spec"])
        augment = {k: tuple(v) if isinstance(v, list) else v for k, v in values["augment"].items()}
        values["augment"] = AugmentConfig(**augment)
        if values.get("keywords") is not None:
            values["keywords"] = tuple(values["keywords"])
        return cls(**values)

    def index(self, data: str | os.PathLike | None = None) -> DatasetIndex:
        """A data set (by default the run's) as this run sees it: its keywords, and the held-out
        engine's clips moved to their own split."""
        index = index_folder(
            data or self.data, self.keywords, self.split_by, self.validation_share, self.test_share,
            self.test_data if data is None or Path(data).resolve() == Path(self.data) else None,
            self.background,
        )  # fmt: skip
        return hold_out_engine(index, self.held_out_engine) if self.held_out_engine else index


def prepare_run(run: Path, config: TrainConfig) -> bool:
    """Create RUN/ or check it belongs to this configuration. True when resuming."""
    config_path = run / "config.json"
    if config_path.exists():
        remove_leftovers(run)  # what a kill -9 during a write left
        previous = TrainConfig.from_dict(json.loads(config_path.read_text())).to_dict()
        changed = sorted(k for k in previous if previous[k] != config.to_dict().get(k))
        if changed == ["epochs"] and config.epochs > previous["epochs"]:
            write_json(config_path, config.to_dict())  # more epochs: the run goes on
            return True
        if changed:
            raise DataError(
                f"{run} was started with other options ({', '.join(changed)} differ); "
                "rerun with the same options to resume, or choose another --out"
            )
        return True
    if run.exists() and any(run.iterdir()):
        raise DataError(f"{run} exists, is not empty and is not a leaf-edge run")
    run.mkdir(parents=True, exist_ok=True)
    write_json(config_path, config.to_dict())
    return False


LOCK_FILE = "train.lock"


@contextlib.contextmanager
def run_lock(run: Path) -> Iterator[None]:
    """Hold RUN/train.lock (an flock, let go however the process ends) while training: a second
    ``train`` on the same folder refuses in one line instead of both dying over its files."""
    import fcntl

    with open(run / LOCK_FILE, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            raise DataError(
                f"{run} is being trained by another process{f' (pid {holder})' if holder else ''}: "
                "wait for it to finish, or choose another --out"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield


def load_run(run: Path):
    """The trained model and configuration of a run folder, with clear errors."""
    model, values = load_trained(run)
    config = TrainConfig.from_dict(values)
    # a run trained with --classifier auto: the name of the classifier it chose
    return model, dataclasses.replace(config, classifier=model_classifier(model))
