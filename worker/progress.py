"""A Keras callback that reports a job's progress to the job store."""

import math
import time
from typing import Any

import keras

from core.job_store import JobStore
from core.logs import job_logger

EPOCH_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


class ProgressReporter(keras.callbacks.Callback):
    """Writes progress at most every `interval` seconds within an epoch, and at each epoch end."""

    def __init__(
        self, store: JobStore, job_id: str, epochs: int, batch_size: int, interval: float
    ) -> None:
        super().__init__()
        self._store = store
        self._job_id = job_id
        self._epochs = epochs
        self._batch_size = batch_size
        self._interval = interval
        self._epoch = 1
        self._training_started = 0.0
        self._epoch_started = 0.0
        self._last_write = 0.0
        self._steps_before_epoch = 0
        self._steps_at_start: int | None = None  # after a resume, steps done by earlier attempts
        self._log = job_logger("worker", job_id)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._training_started = time.monotonic()
        self._store.record_progress(self._job_id, self._progress(0))

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch + 1
        self._epoch_started = time.monotonic()
        self._steps_before_epoch = epoch * (self._steps or 0)
        if self._steps_at_start is None:
            self._steps_at_start = self._steps_before_epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        now = time.monotonic()
        if now - self._last_write >= self._interval:
            self._last_write = now
            self._store.record_progress(self._job_id, self._progress(batch + 1))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        metrics = {name: _finite_or_none(logs.get(name)) for name in EPOCH_METRICS}
        seconds = time.monotonic() - self._epoch_started
        record = {"epoch": epoch + 1, "seconds": seconds, **metrics}
        self._store.record_epoch(self._job_id, record, self._progress(self._steps or 0))
        self._last_write = time.monotonic()
        # The job's log tells its story epoch by epoch, as Keras' own verbose output would.
        self._log.info("epoch finished", extra={**record, "epochs": self._epochs})

    @property
    def _steps(self) -> int | None:
        return self.params.get("steps") if self.params else None

    def _progress(self, step: int) -> dict[str, Any]:
        steps = self._steps
        elapsed_in_epoch = time.monotonic() - self._epoch_started if step else 0.0
        images_per_second = (
            step * self._batch_size / elapsed_in_epoch if elapsed_in_epoch > 0 else None
        )
        fraction, eta = 0.0, None
        if steps:
            done = self._steps_before_epoch + step
            total = self._epochs * steps
            fraction = min(1.0, done / total)
            done_here = done - (self._steps_at_start or 0)
            elapsed = time.monotonic() - self._training_started
            if done_here and elapsed > 0:
                eta = (total - done) * elapsed / done_here
        return {
            "epoch": self._epoch,
            "epochs": self._epochs,
            "step": step,
            "steps": steps,
            "fraction": fraction,
            "images_per_second": images_per_second,
            "eta_seconds": eta,
        }


def _finite_or_none(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None
