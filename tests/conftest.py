import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.db import SessionFactory, create_session_factory
from core.job_store import JobStore
from core.schemas import TrainRequest
from core.settings import Settings
from core.tables import Job
from devkit.samples import write_image_folder_archive
from models.backend import apply_tensorflow_defaults

# TensorFlow in the test process, and the processes it starts, runs as the service's does (none
# of the imports above imports it).
apply_tensorflow_defaults()

CLASSES = ["airplane", "cat", "ship"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var", start_worker=False, _env_file=None)


@pytest.fixture(params=["sqlite", "postgresql"])
def settings_on_each_database(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings on SQLite, then on a fresh PostgreSQL database: for the store's tests."""
    database_url = None
    if request.param == "postgresql":
        database_url = request.getfixturevalue("postgres_database_url")
    return Settings(
        data_dir=tmp_path / "var", database_url=database_url, start_worker=False, _env_file=None
    )


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """The server `make test` starts (.ci/start-postgres); skipped without one,
    except in CI, where the PostgreSQL tests must run."""
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        message = "no PostgreSQL server: set TEST_POSTGRES_URL (.ci/start-postgres)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture
def postgres_database_url(postgres_admin_url: str) -> Iterator[str]:
    """A database of its own for one test, dropped afterwards."""
    name = f"kts_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


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
