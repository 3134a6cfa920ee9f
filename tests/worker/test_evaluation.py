"""Prediction batch by batch: the batches' sizes, over the replicas and in bytes."""

import numpy as np

from worker import evaluation
from worker.evaluation import predict_evenly


class RecordsBatches:
    """A model's `predict`, as far as predict_evenly uses it: logits of zeros."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def predict(self, batches, verbose=0):
        images = [batches[i][0] for i in range(len(batches))]
        self.sizes = [len(batch) for batch in images]
        return np.zeros((sum(self.sizes), 3), dtype=np.float32)


def test_prediction_batches_divide_over_the_replicas_and_answer_for_each_image_once():
    model = RecordsBatches()

    logits = predict_evenly(model, np.zeros((45, 2, 2, 3), np.uint8), replicas=2, batch_size=16)

    assert len(logits) == 45  # the padding's answers are dropped
    assert sum(model.sizes) == 46 and all(size % 2 == 0 for size in model.sizes)


def test_prediction_batches_of_large_images_hold_fewer_of_them(monkeypatch):
    model = RecordsBatches()
    image_bytes = 64 * 64 * 3
    monkeypatch.setattr(evaluation, "PREDICT_BATCH_BYTES", 10 * image_bytes)

    predict_evenly(model, np.zeros((40, 64, 64, 3), np.uint8), replicas=1, batch_size=1024)

    assert max(model.sizes) == 10 and sum(model.sizes) == 40
