from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from core.tables import TrainedModel
from tests.samples import save_untrained_model


@pytest.fixture
def client(settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def make_model(settings) -> Callable[..., TrainedModel]:
    """An untrained seed_cnn saved exactly as the worker saves a trained one."""

    def make(
        class_names: list[str] = ["airplane", "cat", "ship"],  # noqa: B006
        metrics: dict[str, Any] | None = None,
    ) -> TrainedModel:
        return save_untrained_model(settings, class_names, metrics)

    return make
