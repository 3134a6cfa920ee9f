"""The confusion matrix of a model's test predictions, and the per-class accuracy it gives."""

from collections.abc import Sequence
from typing import Any

import numpy as np


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts[i, j]: images of class i predicted as class j."""
    pairs = np.asarray(true, dtype=np.int64) * num_classes + np.asarray(predicted, dtype=np.int64)
    return np.bincount(pairs, minlength=num_classes**2).reshape(num_classes, num_classes)


def per_class_accuracy(confusion: np.ndarray) -> list[float | None]:
    """Each class's share of images predicted right; None for a class with no images."""
    totals = confusion.sum(axis=1)
    right = np.diagonal(confusion)
    return [float(r / t) if t else None for r, t in zip(right, totals, strict=True)]


def confusion_metrics(confusion: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    """The model metadata's entries: accuracy by class name, and the matrix as nested lists."""
    if confusion.shape != (len(class_names), len(class_names)):
        raise ValueError(
            f"A confusion matrix of shape {confusion.shape} does not fit "
            f"{len(class_names)} class names."
        )
    accuracies = per_class_accuracy(confusion)
    return {
        "per_class_accuracy": dict(zip(class_names, accuracies, strict=True)),
        "confusion_matrix": confusion.tolist(),
    }
