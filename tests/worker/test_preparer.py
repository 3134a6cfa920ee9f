"""The worker prepares uploads on a thread beside its training loop, and refuses to train on a
dataset that is not ready."""

import threading
import time

import pytest

import worker.loop
from core.datasets.registration import register_dataset_archive
from core.datasets.status import DatasetStatus
from core.datasets.store import DatasetStore
from core.schemas import TrainRequest
from core.status import JobStatus
from core.tables import Dataset, utc_now
from worker.loop import run_worker
from worker.stopping import StopRequest


def _queue(job_store, dataset_id: str) -> str:
    request = TrainRequest.model_validate({"dataset": dataset_id, "epochs": 1})
    return job_store.create_job(request.resolve(seed=0)).id


def _upload(settings, sessions, make_archive) -> Dataset:
    archive = make_archive(["cat", "ship"], train_per_class=10, test_per_class=2)
    return register_dataset_archive(
        archive, "u.tar.gz", "upload", None, settings, DatasetStore(sessions)
    )


def test_an_upload_is_prepared_while_a_job_runs(
    settings, sessions, job_store, make_archive, monkeypatch: pytest.MonkeyPatch
):
    upload = _upload(settings, sessions, make_archive)
    seen_while_running: list[str] = []

    def train_until_the_upload_is_ready(job, process, settings, jobs, worker_id, stop) -> None:
        process.end()  # not needed: this stands in for the training
        deadline = time.monotonic() + 120
        while (status := DatasetStore(sessions).get_dataset(upload.id).status) == "processing":
            assert time.monotonic() < deadline, "the upload was not prepared while a job ran"
            time.sleep(0.05)
        seen_while_running.append(status)

    monkeypatch.setattr(worker.loop, "train_in_process", train_until_the_upload_is_ready)
    _queue(job_store, "cifar10")

    assert run_worker(settings, burst=True) == 1

    assert seen_while_running == ["ready"]


def test_a_burst_worker_prepares_every_upload_before_it_exits(settings, sessions, make_archive):
    uploads = [_upload(settings, sessions, make_archive) for _ in range(2)]

    assert run_worker(settings, burst=True) == 0

    datasets = DatasetStore(sessions)
    assert [datasets.get_dataset(u.id).status for u in uploads] == ["ready", "ready"]


def test_a_stopped_worker_hands_back_the_upload_it_prepares(settings, sessions, make_archive):
    upload = _upload(settings, sessions, make_archive)
    stop = StopRequest()
    datasets = DatasetStore(sessions)

    def stop_once_claimed() -> None:
        deadline = time.monotonic() + 60
        while datasets.get_dataset(upload.id).claimed_by is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        stop.request("test")

    threading.Thread(target=stop_once_claimed, daemon=True).start()
    run_worker(settings, stop)

    handed_back = datasets.get_dataset(upload.id)
    assert handed_back.status == DatasetStatus.PROCESSING
    assert (handed_back.claimed_by, handed_back.attempts) == (None, 0)


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (DatasetStatus.PROCESSING, "is still being prepared (5 of 10 images decoded)"),
        (DatasetStatus.FAILED, "failed to be prepared, so no job can train on it: Broken."),
    ],
)
def test_a_job_on_a_dataset_not_ready_fails_saying_why(
    settings, sessions, job_store, status, reason
):
    # Prepared by another worker still, or failed: nothing for this worker's preparer to claim.
    DatasetStore(sessions).add_dataset(
        Dataset(
            id="upload",
            name="upload",
            kind="image_folder",
            status=status,
            progress={"done": 5, "total": 10},
            error_message="Broken.",
            claimed_by="elsewhere" if status == DatasetStatus.PROCESSING else None,
            heartbeat_at=utc_now(),
        )
    )
    job_id = _queue(job_store, "upload")

    run_worker(settings, burst=True)

    failed = job_store.get_job(job_id)
    assert failed.status == JobStatus.FAILED
    assert failed.error_type == "DatasetNotReadyError"
    assert f"Dataset 'upload' {reason}" in (failed.error_message or "")
