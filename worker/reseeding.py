"""A Keras callback that makes each epoch's randomness depend only on the seed and the epoch."""

from typing import Any

import keras


class ReseedEachEpoch(keras.callbacks.Callback):
    """Without it, epoch 3's draws from the global generators depend on those of epochs 1 and
    2, so a job resumed from a checkpoint at epoch 2 would draw others than an uninterrupted run
    does. (The order of the batches depends on the seed and the epoch by itself:
    worker/batches.py.)"""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self._seed = seed

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        keras.utils.set_random_seed((self._seed * 1_000_003 + epoch) % 2**32)
