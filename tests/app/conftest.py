import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.main import create_app
from core.tables import TrainedModel
from devkit.saved_models import save_untrained_model


@pytest.fixture
def client(settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@contextmanager
def served(app: FastAPI) -> Iterator[tuple[str, int]]:
    """`app` behind a real uvicorn server, in a thread of this process: its host and port."""
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    host, port = listening.getsockname()
    # A short graceful shutdown: event streams a test leaves open would hold it for hours.
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield host, port
    finally:
        server.should_exit = True
        thread.join(10)
        listening.close()


@pytest.fixture
def server(settings) -> Iterator[tuple[str, int]]:
    """The app served over HTTP by uvicorn, for what depends on the server: its host and port."""
    with served(create_app(settings)) as address:
        yield address


@pytest.fixture
def make_model(settings) -> Callable[..., TrainedModel]:
    """An untrained seed_cnn saved exactly as the worker saves a trained one, as if trained on
    `dataset_id` (default: `sample`), as the next version of `name` (default: the dataset's id),
    its production version if the name had none."""

    def make(
        class_names: list[str] = ["airplane", "cat", "ship"],  # noqa: B006
        metrics: dict[str, Any] | None = None,
        name: str | None = None,
        dataset_id: str = "sample",
    ) -> TrainedModel:
        return save_untrained_model(settings, class_names, metrics, name, dataset_id)

    return make
