"""Batches that divide evenly over the replicas.

Keras' data parallelism needs them: on JAX every batch is sharded over the devices and must
divide by their number, and on TensorFlow `evaluate` fails on a batch that splits unevenly
(keras-team/keras#19246: "Inputs to operation AddN ... must have the same size and shape").
So the global batch is rounded up to a multiple of the replicas, and a set is padded to a
multiple of them, so that the last, partial batch divides too.

A batch of another shape is also another compilation (seconds on a GPU, more than the training
of an epoch there), so training sets are padded to whole batches, and evaluation and prediction
use a batch size that divides the set where one is near the asked size.

Training pads the list of a set's row numbers, not its images (worker/batches.py), so a set
that is a memory-mapped file is never copied.
"""

import numpy as np


def replica_batch_size(batch_size: int, replicas: int) -> int:
    return -(-batch_size // replicas) * replicas


def pad_to_multiple(multiple: int, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Append repeats of the first examples (at most `multiple - 1` of them) to each array."""
    missing = -len(arrays[0]) % multiple
    if not missing:
        return arrays
    return _with_repeats(arrays, np.arange(missing) % len(arrays[0]))


def pad_to_whole_batches(batch_size: int, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Append repeats of examples spread evenly over the arrays (the first ones could all be of
    one class) until they fill whole batches; a set no larger than one batch is left as it is."""
    count = len(arrays[0])
    missing = -count % batch_size
    if count <= batch_size or not missing:
        return arrays
    return _with_repeats(arrays, np.arange(missing) * count // missing)


def dividing_batch_size(count: int, batch_size: int, replicas: int) -> int:
    """The largest multiple of `replicas`, from `batch_size` down to half of it, that divides
    `count` (itself a multiple of `replicas`): every batch then has one shape. `batch_size`
    where none does."""
    if count <= batch_size:
        return batch_size
    for size in range(batch_size, batch_size // 2 - 1, -replicas):
        if size and count % size == 0:
            return size
    return batch_size


def _with_repeats(arrays: tuple[np.ndarray, ...], repeats: np.ndarray) -> tuple[np.ndarray, ...]:
    return tuple(np.concatenate([array, array[repeats]]) for array in arrays)
