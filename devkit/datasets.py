"""Uploaded datasets made ready in one call, for the tests and the benchmarks: in this process,
by the very preparation a worker runs, or through a running service whose worker prepares it."""

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Protocol

from core.datasets.preparation import prepare_next_dataset
from core.datasets.registration import register_dataset_archive
from core.datasets.status import DatasetStatus
from core.datasets.store import DatasetStore
from core.db import close_connections, create_session_factory
from core.settings import Settings
from core.tables import Dataset


class HttpClient(Protocol):
    """What httpx.Client and Starlette's TestClient both offer."""

    def get(self, *args: Any, **kwargs: Any) -> Any: ...
    def post(self, *args: Any, **kwargs: Any) -> Any: ...


def add_ready_dataset(
    settings: Settings,
    archive: Path,
    name: str | None = None,
    image_size: tuple[int, int] | None = None,
) -> Dataset:
    """Register a copy of `archive` as POST /datasets does, then prepare it as a worker does;
    the dataset's record, ready (else AssertionError, with why it failed)."""
    staging = settings.data_dir / "uploads"
    staging.mkdir(parents=True, exist_ok=True)
    with (
        archive.open("rb") as source,
        tempfile.NamedTemporaryFile(dir=staging, delete=False) as copy,
    ):
        shutil.copyfileobj(source, copy)
    sessions = create_session_factory(settings)
    try:
        store = DatasetStore(sessions)
        dataset = register_dataset_archive(
            Path(copy.name), archive.name, name, image_size, settings, store
        )
        prepared = prepare_uploaded_dataset(settings, dataset.id, store)
    finally:
        close_connections(sessions)
    assert prepared.status == DatasetStatus.READY, (prepared.error_message, prepared.problems)
    return prepared


def prepare_uploaded_dataset(
    settings: Settings, dataset_id: str, store: DatasetStore | None = None
) -> Dataset:
    """Prepare datasets in this process, oldest first, until this one is ready or failed."""
    if store is None:
        sessions = create_session_factory(settings)
        try:
            return prepare_uploaded_dataset(settings, dataset_id, DatasetStore(sessions))
        finally:
            close_connections(sessions)
    while (dataset := store.get_dataset(dataset_id)).status == DatasetStatus.PROCESSING:
        if prepare_next_dataset(settings, store) is None:
            raise AssertionError(f"dataset {dataset_id} is processing, but none can be claimed")
    return dataset


def upload_ready_dataset(
    client: HttpClient, settings: Settings, archive: Path, **fields: str
) -> dict[str, Any]:
    """`upload_prepared_dataset` for a test that needs the dataset ready."""
    dataset = upload_prepared_dataset(client, settings, archive, **fields)
    assert dataset["status"] == DatasetStatus.READY, dataset
    return dataset


def upload_prepared_dataset(
    client: HttpClient, settings: Settings, archive: Path, **fields: str
) -> dict[str, Any]:
    """POST `archive` to an app that runs no worker, prepare it here, and return the dataset,
    ready or failed, as GET /datasets/{id} answers then."""
    dataset_id = upload_dataset(client, archive, **fields)["id"]
    prepare_uploaded_dataset(settings, dataset_id)
    answer: dict[str, Any] = client.get(f"/datasets/{dataset_id}").json()
    return answer


def upload_dataset(client: HttpClient, archive: Path, **fields: str) -> dict[str, Any]:
    """POST `archive` to /datasets; the `processing` dataset it answers with (202)."""
    with archive.open("rb") as file:
        response = client.post("/datasets", files={"file": (archive.name, file)}, data=fields)
    assert response.status_code == 202, response.text
    answer: dict[str, Any] = response.json()
    return answer


def wait_until_prepared(
    client: HttpClient, dataset_id: str, timeout: float = 300
) -> dict[str, Any]:
    """Follow a dataset that a service's worker prepares until it is ready or failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dataset: dict[str, Any] = client.get(f"/datasets/{dataset_id}").json()
        if dataset["status"] != DatasetStatus.PROCESSING:
            return dataset
        time.sleep(0.2)
    raise AssertionError(f"dataset {dataset_id} was not prepared in {timeout} s: {dataset}")
