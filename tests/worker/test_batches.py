"""Batches gathered by row from memory-mapped arrays: each epoch's rows, their order, the
padding, and what is read of the files."""

from collections import Counter
from typing import Any

import keras
import numpy as np
import pytest

from core.datasets.arrays import DatasetArrays
from core.schemas import TrainRequest
from tests.worker.memmaps import memmapped
from worker.batches import (
    EvaluationBatches,
    TrainingBatches,
    gather_rows,
    training_input,
    whole_batch_rows,
)
from worker.fitting import split_validation

ROWS = 103  # neither a multiple of the batch nor of the replicas


@pytest.fixture
def images(tmp_path) -> np.ndarray:
    pixels = np.random.default_rng(0).integers(0, 256, (ROWS, 4, 4, 3), dtype=np.uint8)
    return memmapped(tmp_path, "x", pixels)


@pytest.fixture
def labels(tmp_path) -> np.ndarray:
    """Each row's label is its row number, so a batch's labels say which rows it holds."""
    return memmapped(tmp_path, "y", np.arange(ROWS, dtype=np.int32))


def _batches(images, labels, seed=3, first_epoch=0, epochs=3, shuffle=True, replicas=2):
    rows = whole_batch_rows(np.arange(ROWS), batch_size=16, replicas=replicas)
    return TrainingBatches(images, labels, rows, 16, seed, shuffle, first_epoch, epochs)


def _epoch_labels(batches: TrainingBatches, epoch: int) -> list[np.ndarray]:
    steps = batches.steps_per_epoch
    return [batches[i][1] for i in range(epoch * steps, (epoch + 1) * steps)]


def test_each_epoch_trains_every_row_once_plus_a_few_repeats_in_whole_batches(images, labels):
    batches = _batches(images, labels)

    assert batches.steps_per_epoch == 7 and len(batches) == 3 * 7  # 103 rows padded to 112
    for epoch in range(3):
        epoch_labels = _epoch_labels(batches, epoch)
        seen = Counter(np.concatenate(epoch_labels).tolist())
        assert set(seen) == set(range(ROWS))
        assert sum(seen.values()) == 112  # 9 repeats, as padding
        assert all(len(batch) == 16 and len(batch) % 2 == 0 for batch in epoch_labels)
    x, y = batches[5]
    assert (x == images[y]).all() and x.dtype == np.uint8 and y.dtype == np.int32
    batches.close()


def test_the_order_comes_from_the_seed_and_the_epoch_alone(images, labels):
    first, again, other_seed = (_batches(images, labels, seed=s) for s in (3, 3, 4))
    orders = [np.concatenate(_epoch_labels(first, epoch)) for epoch in range(3)]

    assert not (orders[0] == orders[1]).all() and not (orders[1] == orders[2]).all()
    assert (np.concatenate(_epoch_labels(again, 2)) == orders[2]).all()
    # Read backwards, the batches are the same: reading ahead never changes an answer.
    backwards = [again[i][1] for i in reversed(range(7))][::-1]
    assert (np.concatenate(backwards) == orders[0]).all()
    assert not (np.concatenate(_epoch_labels(other_seed, 0)) == orders[0]).all()
    for batches in (first, again, other_seed):
        batches.close()


def test_a_stream_resumed_at_an_epoch_has_the_batches_of_an_uninterrupted_one(images, labels):
    uninterrupted = _batches(images, labels, first_epoch=0, epochs=3)
    resumed = _batches(images, labels, first_epoch=2, epochs=3)

    assert len(resumed) == 7
    for step in range(7):
        assert (resumed[step][1] == uninterrupted[2 * 7 + step][1]).all()
        assert (resumed[step][0] == uninterrupted[2 * 7 + step][0]).all()
    # No epoch left (killed after the last checkpoint): a stream Keras accepts, never read.
    assert len(_batches(images, labels, first_epoch=3, epochs=3)) == 7


def test_tensorflow_takes_the_same_batches_several_at_a_time(images, labels):
    assert keras.backend.backend() == "tensorflow"  # the tests' backend
    batches = _batches(images, labels)  # 21 batches: groups of 8, 8 and 5

    taken = [(x.numpy(), y.numpy()) for x, y in training_input(batches)]

    assert len(taken) == len(batches) == 21
    for index, (x, y) in enumerate(taken):
        assert (y == batches[index][1]).all() and (x == batches[index][0]).all()


def test_without_shuffle_every_epoch_keeps_the_rows_in_order(images, labels):
    batches = _batches(images, labels, shuffle=False, replicas=1)

    for epoch in range(2):
        order = np.concatenate(_epoch_labels(batches, epoch))
        assert list(order[:ROWS]) == list(range(ROWS))


def test_evaluation_batches_hold_the_rows_asked_for_through_a_view(images, labels):
    rows = np.array([9, 2, 50, 2, 7])
    batches = EvaluationBatches(images, labels, rows, batch_size=2, view=lambda x: x[:, ::-1])

    assert len(batches) == 3 and [len(batches[i][0]) for i in range(3)] == [2, 2, 1]
    x, y = batches[0]
    assert list(y) == [9, 2] and (x == images[[9, 2]][:, ::-1]).all()
    assert len(EvaluationBatches(images, None, rows, 2)[2]) == 1  # images alone
    with pytest.raises(IndexError):
        batches[3]


def test_rows_are_read_in_file_order_and_answered_in_the_order_asked(images):
    class Reads:
        def __init__(self, array):
            self.array, self.shape, self.dtype = array, array.shape, array.dtype
            self.asked: list[list[int]] = []

        def __getitem__(self, rows):
            self.asked.append(list(rows))
            return self.array[rows]

    reads: Any = Reads(images)  # an array to gather_rows, as far as it looks
    gathered = gather_rows(reads, np.array([40, 3, 17, 3]))

    assert reads.asked == [[3, 3, 17, 40]]
    assert (gathered == images[[40, 3, 17, 3]]).all()


def test_validation_rows_are_a_seeded_share_apart_from_the_training_rows(images, labels):
    arrays = DatasetArrays(images, labels, images[:10], labels[:10], ["a", "b"])

    def split(seed, share=0.2):
        request = TrainRequest(validation_split=share, seed=seed)
        return split_validation(arrays, request.resolve(seed=0))

    held = split(1)
    assert len(held.validation) == 20 and len(held.train) == ROWS - 20
    assert set(held.validation).isdisjoint(held.train)
    assert set(held.validation) | set(held.train) == set(range(ROWS))
    assert held.validation_x is images  # rows of the file, not a copy of them
    assert (split(1).validation == held.validation).all()
    assert set(split(2).validation) != set(held.validation)
    on_test = split(1, share=0)
    assert on_test.validation_x is arrays.x_test and list(on_test.validation) == list(range(10))
