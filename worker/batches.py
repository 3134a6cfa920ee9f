"""Batches gathered by index from a dataset's arrays, which may be memory-mapped files.

Only a batch's rows are ever read, a few batches ahead of the step (worker/read_ahead.py), so
training needs the memory of a few batches, whatever the dataset's size. Both are Keras
`PyDataset`s: one path for both backends, under MirroredStrategy and DataParallel alike.
TensorFlow takes the same training batches through tf.data, several at a time, and reads them
ahead itself (`training_input` says why).

A batch depends on its index alone, never on which batches were read before: TensorFlow's
input pipeline reads ahead across an epoch's end, before Keras tells the dataset that the
epoch ended. (For that reason too the read-ahead is ours, not Keras' `workers`, whose queue
stops and starts at each epoch's edges.)
"""

import math
import threading
from collections.abc import Callable, Iterator
from typing import Any

import keras
import numpy as np

from worker.read_ahead import ReadAhead
from worker.replica_batches import pad_to_multiple, pad_to_whole_batches

View = Callable[[np.ndarray], np.ndarray]  # a batch of images, as a test-time augmentation sees it
# TensorFlow takes the training batches through Python this many at a time at most, and at most
# this many bytes of images at a time (small batches are the ones that need grouping).
GROUPED_BATCHES = 8
GROUP_BYTES = 8 * 2**20


def gather_rows(array: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """`array[rows]`, read in ascending order (the page cache reads ahead on a file in order),
    answered in the order asked."""
    if len(rows) < 2 or bool(np.all(rows[1:] >= rows[:-1])):
        return np.asarray(array[rows])
    ascending = np.argsort(rows, kind="stable")
    gathered = np.empty((len(rows), *array.shape[1:]), dtype=array.dtype)
    gathered[ascending] = array[rows[ascending]]
    return gathered


def whole_batch_rows(rows: np.ndarray, batch_size: int, replicas: int) -> np.ndarray:
    """`rows` with repeats of some of them appended, so that they fill whole batches that divide
    over the replicas (worker/replica_batches.py says why); the repeats are of rows, not images."""
    (padded,) = pad_to_whole_batches(batch_size, *pad_to_multiple(replicas, rows))
    return padded


class _GatheredBatches(keras.utils.PyDataset):
    """`count` batches, each made by `_batch(index)` and read ahead of the one asked for."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self._count = count
        self._read_ahead = ReadAhead(self._batch, count)

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        if not 0 <= index < self._count:
            raise IndexError(f"batch {index} of {self._count}")
        return self._read_ahead.get(index)

    def close(self) -> None:
        """Stop reading ahead (once Keras is done with the batches)."""
        self._read_ahead.close()

    def _batch(self, index: int) -> tuple[np.ndarray, ...]:
        raise NotImplementedError


class TrainingBatches(_GatheredBatches):
    """The batches of epochs `first_epoch` to `epochs - 1`, one epoch after the other.

    An epoch goes through `rows` (whole batches already) in an order drawn from the seed and the
    epoch alone, so a job resumed at epoch k trains on the batches an uninterrupted one does, and
    batch `i` is the same however the reads come. Train with `steps_per_epoch`, and `shuffle`
    off: this is one stream over all the epochs, and Keras must not reorder it.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        rows: np.ndarray,
        batch_size: int,
        seed: int,
        shuffle: bool,
        first_epoch: int,
        epochs: int,
    ) -> None:
        self._x, self._y, self._rows = x, y, rows
        self._batch_size = batch_size
        self._seed = seed
        self._shuffle = shuffle
        self._first_epoch = first_epoch
        self.steps_per_epoch = math.ceil(len(rows) / batch_size)
        self._orders: dict[int, np.ndarray] = {}
        self._orders_lock = threading.Lock()
        # A fit with no epoch left still builds its iterator, which refuses an empty dataset.
        super().__init__(self.steps_per_epoch * max(1, epochs - first_epoch))

    def epoch_order(self, epoch: int) -> np.ndarray:
        """The rows in the order epoch `epoch` (counted from 0) trains on them."""
        if not self._shuffle:
            return self._rows
        with self._orders_lock:
            order = self._orders.get(epoch)
            if order is None:
                shuffled = np.random.default_rng([self._seed, epoch]).permutation(len(self._rows))
                order = self._rows[shuffled]
                # The read-ahead may be an epoch ahead of the step: keep this one and the last.
                self._orders = {e: o for e, o in self._orders.items() if e == epoch - 1}
                self._orders[epoch] = order
            return order

    def rows_of(self, index: int) -> np.ndarray:
        """The rows that batch `index` holds."""
        epoch, step = divmod(index, self.steps_per_epoch)
        order = self.epoch_order(self._first_epoch + epoch)
        return order[step * self._batch_size : (step + 1) * self._batch_size]

    def gather(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return gather_rows(self._x, rows), gather_rows(self._y, rows)

    def _batch(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return self.gather(self.rows_of(index))


class EvaluationBatches(_GatheredBatches):
    """`rows` of `x` (and `y`, where given) in order, `batch_size` at a time, the last batch
    possibly smaller; the images through `view`, where given."""

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray | None,
        rows: np.ndarray,
        batch_size: int,
        view: View | None = None,
    ) -> None:
        self._x, self._y, self._rows = x, y, rows
        self._batch_size = batch_size
        self._view = view
        super().__init__(math.ceil(len(rows) / batch_size))

    def _batch(self, index: int) -> tuple[np.ndarray, ...]:
        rows = self._rows[index * self._batch_size : (index + 1) * self._batch_size]
        images = gather_rows(self._x, rows)
        if self._view is not None:
            images = self._view(images)
        return (images,) if self._y is None else (images, gather_rows(self._y, rows))


def training_input(batches: TrainingBatches) -> Any:
    """What `fit` takes the training batches from: on TensorFlow, a tf.data pipeline that takes
    them from Python several at a time and splits them again; elsewhere, `batches` itself.

    Each element that TensorFlow takes from Python costs a few hundred microseconds of CPU, about
    as much as a small batch's training step on a CPU; grouped, the seed recipe (batches of 32)
    trains as fast as from arrays in memory. The batches and their order are the same.
    """
    if keras.backend.backend() != "tensorflow":
        return batches
    import tensorflow as tf

    rows = batches.rows_of(0)
    x, y = batches.gather(rows[:1])  # one image and label: their shapes and types
    group = max(1, min(GROUPED_BATCHES, GROUP_BYTES // max(1, x.nbytes * len(rows))))
    signature = (
        tf.TensorSpec((None, *x.shape[1:]), tf.as_dtype(x.dtype)),
        tf.TensorSpec((None, *y.shape[1:]), tf.as_dtype(y.dtype)),
    )
    groups = tf.data.Dataset.from_generator(
        lambda: _grouped(batches, group), output_signature=signature
    )
    return groups.rebatch(len(rows)).prefetch(tf.data.AUTOTUNE)


def _grouped(batches: TrainingBatches, group: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The batches, `group` at a time, each group gathered at once (tf.data reads ahead)."""
    for start in range(0, len(batches), group):
        indices = range(start, min(start + group, len(batches)))
        yield batches.gather(np.concatenate([batches.rows_of(index) for index in indices]))
