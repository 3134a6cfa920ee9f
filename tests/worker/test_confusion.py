"""The confusion arithmetic: counts by true and predicted class, and accuracy per class."""

import numpy as np
import pytest

from worker.confusion import confusion_matrix, confusion_metrics, per_class_accuracy


def test_counts_each_true_and_predicted_pair_in_its_cell():
    true = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    predicted = np.array([0, 0, 1, 1, 2, 2, 2, 0, 2])

    confusion = confusion_matrix(true, predicted, num_classes=3)

    assert confusion.tolist() == [[2, 1, 0], [0, 1, 1], [1, 0, 3]]
    assert confusion.sum(axis=1).tolist() == [3, 2, 4]  # images per true class
    assert np.trace(confusion) / confusion.sum() == pytest.approx((true == predicted).mean())


def test_classes_never_seen_or_predicted_keep_their_rows_and_columns():
    confusion = confusion_matrix(np.array([1, 1]), np.array([1, 3]), num_classes=5)

    assert confusion.shape == (5, 5)
    assert confusion[1].tolist() == [0, 1, 0, 1, 0]
    assert confusion.sum() == 2


def test_per_class_accuracy_is_the_diagonal_over_each_row_none_for_an_empty_class():
    confusion = np.array([[3, 1, 0], [0, 0, 0], [2, 0, 2]])

    assert per_class_accuracy(confusion) == [0.75, None, 0.5]


def test_metrics_name_each_class_and_serialise_as_plain_lists():
    confusion = confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), num_classes=2)

    metrics = confusion_metrics(confusion, ["cat", "ship"])

    assert metrics == {
        "per_class_accuracy": {"cat": 1.0, "ship": 0.5},
        "confusion_matrix": [[1, 0], [1, 1]],
    }
    assert all(type(count) is int for row in metrics["confusion_matrix"] for count in row)


def test_metrics_refuse_a_matrix_that_does_not_fit_the_class_names():
    with pytest.raises(ValueError, match=r"shape \(2, 2\) does not fit 3 class names"):
        confusion_metrics(np.zeros((2, 2), dtype=np.int64), ["a", "b", "c"])
