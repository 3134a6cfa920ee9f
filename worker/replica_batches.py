"""Batches that divide evenly over the replicas.

Keras' data parallelism needs them: on JAX every batch is sharded over the devices and must
divide by their number, and on TensorFlow `evaluate` fails on a batch that splits unevenly
(keras-team/keras#19246: "Inputs to operation AddN ... must have the same size and shape").
So the global batch is rounded up to a multiple of the replicas, and the arrays are padded to a
multiple of them, so that the last, partial batch divides too.
"""

import keras
import numpy as np


def replica_batch_size(batch_size: int, replicas: int) -> int:
    return -(-batch_size // replicas) * replicas


def pad_to_multiple(multiple: int, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Append repeats of the first examples (at most `multiple - 1` of them) to each array."""
    missing = -len(arrays[0]) % multiple
    if not missing:
        return arrays
    repeats = np.arange(missing) % len(arrays[0])
    return tuple(np.concatenate([array, array[repeats]]) for array in arrays)


def predict_evenly(model: keras.Model, x: np.ndarray, replicas: int, batch_size: int) -> np.ndarray:
    """`model.predict` over the replicas, padding and all, answering for `x` alone."""
    (padded,) = pad_to_multiple(replicas, x)
    batch = replica_batch_size(batch_size, replicas)
    return np.asarray(model.predict(padded, batch_size=batch, verbose=0))[: len(x)]
