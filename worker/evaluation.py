"""Predicting and evaluating batch by batch, test-time augmentation included: the images are
read, padded and augmented one batch at a time, so a memory-mapped test split stays on disk."""

from dataclasses import dataclass
from functools import partial

import keras
import numpy as np

from worker.batches import EvaluationBatches, View
from worker.confusion import confusion_matrix
from worker.replica_batches import dividing_batch_size, pad_to_multiple, replica_batch_size

PREDICT_BATCH = 1024
# A prediction batch holds at most this many bytes of pixels (the model makes floats of them):
# on CIFAR-10, PREDICT_BATCH images; of large images, fewer.
PREDICT_BATCH_BYTES = 32 * 2**20


@dataclass
class Evaluation:
    accuracy: float
    loss: float
    confusion: np.ndarray  # rows: true class, columns: predicted class


def evaluate(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    tta: bool,
    replicas: int = 1,
    tta_shift: int = 0,
) -> Evaluation:
    """Accuracy, cross-entropy and confusion matrix on (x, y), all from the same predictions;
    with `tta`, logits averaged with the mirror's; with `tta_shift`, those averaged, half and
    half, with the mean of the same for the images shifted `tta_shift` pixels diagonally up-left
    and down-right, edges reflected (airbench94's test-time augmentation)."""
    logits = _tta_logits(model, x, tta, replicas, None)
    if tta_shift:
        up_left = _tta_logits(model, x, tta, replicas, partial(_shifted, tta_shift, True))
        down_right = _tta_logits(model, x, tta, replicas, partial(_shifted, tta_shift, False))
        logits = (logits + (up_left + down_right) / 2) / 2
    labels = np.asarray(y)  # the labels alone: four bytes an image
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probabilities[np.arange(len(labels)), labels].mean()
    predicted = logits.argmax(axis=1)
    accuracy = (predicted == labels).mean()
    return Evaluation(
        float(accuracy),
        float(loss),
        confusion_matrix(labels, predicted, num_classes=logits.shape[1]),
    )


def predict_evenly(
    model: keras.Model,
    x: np.ndarray,
    replicas: int,
    batch_size: int,
    view: View | None = None,
) -> np.ndarray:
    """`model.predict` of `x`'s images (through `view`), batch by batch over the replicas,
    padding and all, answering for `x` alone. Batches hold `batch_size` images at most, fewer
    where those would take more than PREDICT_BATCH_BYTES."""
    image_bytes = max(1, int(np.prod(x.shape[1:])) * x.dtype.itemsize)
    batch_size = max(1, min(batch_size, PREDICT_BATCH_BYTES // image_bytes))
    (rows,) = pad_to_multiple(replicas, np.arange(len(x)))
    batch = dividing_batch_size(len(rows), replica_batch_size(batch_size, replicas), replicas)
    batches = EvaluationBatches(x, None, rows, batch, view)
    try:
        return np.asarray(model.predict(batches, verbose=0))[: len(x)]
    finally:
        batches.close()


def _tta_logits(
    model: keras.Model, x: np.ndarray, tta: bool, replicas: int, view: View | None
) -> np.ndarray:
    """The logits of `x` (through `view`); with `tta`, averaged with those of their mirrors."""
    logits = predict_evenly(model, x, replicas, PREDICT_BATCH, view).astype(np.float64)
    if tta:
        mirror = partial(_mirrored, view)
        mirrored = predict_evenly(model, x, replicas, PREDICT_BATCH, mirror)
        logits = (logits + mirrored.astype(np.float64)) / 2
    return logits


def _mirrored(view: View | None, images: np.ndarray) -> np.ndarray:
    images = images if view is None else view(images)
    return np.ascontiguousarray(images[:, :, ::-1])


def _shifted(pixels: int, up_left: bool, images: np.ndarray) -> np.ndarray:
    """The images shifted `pixels` diagonally, up-left or down-right, edges reflected."""
    pad = ((0, 0), (pixels, pixels), (pixels, pixels), (0, 0))
    padded = np.pad(images, pad, mode="reflect")
    width = 2 * pixels  # of the padding, both sides together
    shifted = padded[:, width:, width:] if up_left else padded[:, :-width, :-width]
    return np.ascontiguousarray(shifted)
