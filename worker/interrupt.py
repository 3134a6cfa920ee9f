"""A Keras callback that stops training at a batch boundary when the job must stop."""

from typing import Any

import keras

from worker.control import JobControl


class InterruptOnRequest(keras.callbacks.Callback):
    """Raises the job's interruption, so `fit` unwinds without finishing or saving anything."""

    def __init__(self, control: JobControl) -> None:
        super().__init__()
        self._control = control

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._raise_if_interrupted()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._raise_if_interrupted()

    def _raise_if_interrupted(self) -> None:
        interruption = self._control.interruption()
        if interruption is not None:
            raise interruption
