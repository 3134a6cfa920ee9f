import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Quiet TensorFlow's C++ start-up chatter in the test process and the processes it starts.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from core.db import SessionFactory, create_session_factory
from core.job_store import JobStore
from core.schemas import TrainRequest
from core.settings import Settings
from core.tables import Job
from tests.samples import write_image_folder_archive

CLASSES = ["airplane", "cat", "ship"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var", start_worker=False, _env_file=None)


@pytest.fixture
def sessions(settings: Settings) -> SessionFactory:
    return create_session_factory(settings)


@pytest.fixture
def job_store(sessions: SessionFactory) -> JobStore:
    return JobStore(sessions)


@pytest.fixture
def make_job(job_store: JobStore) -> Callable[..., Job]:
    def make(**request: object) -> Job:
        params = TrainRequest.model_validate(request).resolve(seed=1)
        return job_store.create_job(params)

    return make


@pytest.fixture
def make_archive(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    counter = iter(range(1_000_000))

    def make(
        classes: list[str] = CLASSES,
        train_per_class: int = 20,
        test_per_class: int = 5,
        suffix: str = ".tar.gz",
        extra: dict[str, bytes] | None = None,
    ) -> Path:
        path = tmp_path / f"archive-{next(counter)}{suffix}"
        return write_image_folder_archive(path, classes, train_per_class, test_per_class, extra)

    yield make
