"""Model records for the registry's tests: rows only, no files."""

import uuid
from datetime import datetime

from core.tables import TrainedModel


def make_trained_model(dataset_id: str = "cifar10", created_at: datetime | None = None):
    """A model record as the worker makes one, before the registry names and numbers it."""
    model = TrainedModel(
        id=uuid.uuid4().hex,
        job_id=uuid.uuid4().hex,
        dataset_id=dataset_id,
        architecture="seed_cnn",
        path="/nowhere/model.keras",
        class_names=["cat", "dog"],
        input_shape=[32, 32, 3],
        preprocessing={},
        params={},
        metrics={},
    )
    if created_at is not None:
        model.created_at = created_at
    return model
