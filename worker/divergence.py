"""A Keras callback that fails training as soon as the loss stops being a finite number."""

import math
import time
from typing import Any

import keras

from worker.interruptions import TrainingDiverged


class FailOnDivergence(keras.callbacks.Callback):
    """Checks the running loss every `interval` seconds and at each epoch end.

    Reading the loss waits for the device, so it is not read at every batch.
    """

    def __init__(self, interval: float = 0.5) -> None:
        super().__init__()
        self._interval = interval
        self._last_check = 0.0
        self._epoch = 1

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch + 1

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        now = time.monotonic()
        if now - self._last_check >= self._interval:
            self._last_check = now
            self._check(logs, f"epoch {self._epoch}, step {batch + 1}")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._check(logs, f"epoch {epoch + 1}")

    def _check(self, logs: dict[str, Any] | None, where: str) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise TrainingDiverged(
                f"The training loss became {float(loss)} in {where}; training stopped. "
                "A lower learning_rate (or mixed_precision='off') usually helps."
            )
