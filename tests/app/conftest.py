from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from core.model_store import ModelStore
from core.tables import TrainedModel


@pytest.fixture
def client(settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def make_model(settings, sessions) -> Callable[..., TrainedModel]:
    """An untrained seed_cnn saved exactly as the worker saves a trained one."""

    def make(class_names: list[str] = ["airplane", "cat", "ship"]) -> TrainedModel:  # noqa: B006
        from models import get_architecture
        from worker.saving import save_trained_model

        network = get_architecture("seed_cnn").build((32, 32, 3), len(class_names))
        record = save_trained_model(
            network,
            settings.models_dir,
            {
                "job_id": "job-for-test",
                "dataset_id": "sample",
                "architecture": "seed_cnn",
                "class_names": class_names,
                "input_shape": [32, 32, 3],
                "params": {"epochs": 1},
                "metrics": {"test_accuracy": 0.5, "test_loss": 1.0},
            },
        )
        return ModelStore(sessions).add_model(record)

    return make
