"""Per-epoch checkpoints of the training state, written so that a kill never leaves a torn one.

A checkpoint is the model's and the optimizer's variables (the step counter, so the learning-rate
schedule, included) in `epoch-NNNN.weights.h5`; the epoch is in the name. It is written under a
temporary name, flushed to disk and renamed into place, so a file with a final name is complete.
"""

import logging
import os
from pathlib import Path
from typing import Any

import keras

log = logging.getLogger("worker.checkpoint")

PATTERN = "epoch-*.weights.h5"
KEEP = 2  # the newest, and the one before it in case the newest cannot be read


def checkpoint_path(directory: Path, epoch: int) -> Path:
    return directory / f"epoch-{epoch:04d}.weights.h5"


def saved_checkpoints(directory: Path) -> list[tuple[int, Path]]:
    """(epoch, path) of each complete checkpoint, newest first."""
    found = []
    for path in directory.glob(PATTERN):
        try:
            found.append((int(path.name.split(".")[0].removeprefix("epoch-")), path))
        except ValueError:
            continue
    return sorted(found, reverse=True)


def restore_latest_checkpoint(model: keras.Model, directory: Path) -> int:
    """Load the newest readable checkpoint into a compiled model; the epochs it completed."""
    for epoch, path in saved_checkpoints(directory):
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        try:
            model.load_weights(path)
        except (OSError, ValueError) as error:
            log.warning("unreadable checkpoint skipped", extra={"path": str(path), "error": error})
            continue
        return epoch
    return 0


class EpochCheckpoint(keras.callbacks.Callback):
    def __init__(self, directory: Path) -> None:
        super().__init__()
        self._directory = directory

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        final = checkpoint_path(self._directory, epoch + 1)
        partial = final.with_name(f".partial-{final.name}")
        self.model.save_weights(partial, overwrite=True)
        _flush_to_disk(partial)
        os.replace(partial, final)
        _flush_to_disk(self._directory)
        for _, older in saved_checkpoints(self._directory)[KEEP:]:
            older.unlink(missing_ok=True)


def _flush_to_disk(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
