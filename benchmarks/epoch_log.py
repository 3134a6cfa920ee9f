"""Per-epoch test accuracy and time since training began, for time-to-accuracy figures."""

import time
from typing import Any

import keras


class EpochLog(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.epochs: list[tuple[float, float]] = []  # (seconds since fit began, val accuracy)
        self._began = 0.0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._began = time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        accuracy = float((logs or {}).get("val_accuracy", float("nan")))
        self.epochs.append((time.monotonic() - self._began, accuracy))

    def seconds_to_reach(self, accuracy: float, compile_seconds: float) -> float | None:
        """Training seconds (compiling excluded) until an epoch ended at `accuracy` or more."""
        for seconds, reached in self.epochs:
            if reached >= accuracy:
                return seconds - compile_seconds
        return None
