import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.datasets.builtin import BUILTIN_DATASETS
from core.datasets.status import DatasetStatus
from core.datasets.store import MAX_JOBS_NAMED, DatasetStore
from core.errors import ConflictError, NotFoundError
from core.status import JobStatus
from core.tables import Dataset, utc_now
from tests.core.threads import in_threads


@pytest.fixture
def settings(settings_on_each_database):
    return settings_on_each_database


def test_a_process_that_loses_the_race_to_record_the_builtin_datasets_starts_anyway(
    sessions, monkeypatch: pytest.MonkeyPatch
):
    """Workers and the app starting together each record the built-in datasets; one that
    looked before another's insert, and inserts after it, must not crash."""
    DatasetStore(sessions).ensure_builtin_datasets()  # the process that won
    # The loser's look comes before the winner's insert: it sees no record.
    monkeypatch.setattr(Session, "get", lambda self, *args, **kwargs: None)

    DatasetStore(sessions).ensure_builtin_datasets()

    monkeypatch.undo()
    with sessions() as session:
        for builtin in BUILTIN_DATASETS:
            count = select(func.count()).select_from(Dataset).where(Dataset.id == builtin.id)
            assert session.scalar(count) == 1


@pytest.fixture
def store(sessions) -> DatasetStore:
    return DatasetStore(sessions)


@pytest.fixture
def make_upload(store: DatasetStore):
    """A dataset recorded as an upload records it: processing, no worker yet."""
    counter = iter(range(1_000_000))

    def make(status: DatasetStatus = DatasetStatus.PROCESSING) -> Dataset:
        number = next(counter)
        return store.add_dataset(
            Dataset(
                id=f"upload-{number}",
                name=f"upload {number}",
                kind="image_folder",
                status=status,
                created_at=utc_now() + timedelta(seconds=number),
                progress={"done": 0, "total": None},
                attempts=0,
            )
        )

    return make


def _lapse_heartbeat(store: DatasetStore, dataset_id: str) -> None:
    with store._sessions.begin() as session:
        session.execute(
            update(Dataset)
            .where(Dataset.id == dataset_id)
            .values(heartbeat_at=utc_now() - timedelta(hours=1))
        )


def test_claim_takes_the_oldest_processing_dataset_once(store: DatasetStore, make_upload):
    make_upload(DatasetStatus.READY)
    first, second = make_upload(), make_upload()
    make_upload(DatasetStatus.FAILED)

    claims = [store.claim_next_dataset(f"w{i}", 60, 3) for i in range(3)]

    assert [claim.id if claim else None for claim in claims] == [first.id, second.id, None]
    assert claims[0] is not None and claims[0].claimed_by == "w0" and claims[0].attempts == 1
    assert claims[0].heartbeat_at is not None


def test_racing_workers_never_share_a_dataset(store: DatasetStore, make_upload):
    uploads = {make_upload().id for _ in range(12)}
    claims: list[str] = []
    lock = threading.Lock()

    def drain(worker: int) -> None:
        while (dataset := store.claim_next_dataset(f"w{worker}", 60, 3)) is not None:
            with lock:
                claims.append(dataset.id)

    in_threads(drain, 4)

    assert sorted(claims) == sorted(uploads)  # each exactly once


def test_a_dataset_whose_preparer_stopped_heartbeating_is_claimed_again(
    store: DatasetStore, make_upload
):
    upload = make_upload()
    store.claim_next_dataset("dead", 60, 3)
    assert store.heartbeat_dataset(upload.id, "dead", {"done": 10, "total": 40})
    assert store.claim_next_dataset("other", 60, 3) is None  # its heartbeat is fresh

    _lapse_heartbeat(store, upload.id)
    reclaimed = store.claim_next_dataset("other", 60, 3)

    assert reclaimed is not None and reclaimed.id == upload.id
    assert reclaimed.claimed_by == "other" and reclaimed.attempts == 2
    assert store.heartbeat_dataset(upload.id, "dead") is False
    assert store.finish_dataset(upload.id, DatasetStatus.READY, "dead") is False
    assert store.get_dataset(upload.id).status == DatasetStatus.PROCESSING


def test_a_dataset_out_of_attempts_fails_with_the_reason(store: DatasetStore, make_upload):
    upload = make_upload()
    for worker in ("first", "second"):
        store.claim_next_dataset(worker, 60, 2)
        _lapse_heartbeat(store, upload.id)

    assert store.claim_next_dataset("third", 60, 2) is None

    failed = store.get_dataset(upload.id)
    assert failed.status == DatasetStatus.FAILED and failed.claimed_by is None
    assert "stopped 2 times before it finished" in (failed.error_message or "")


def test_a_crash_uses_up_an_attempt_and_a_stopping_worker_does_not(
    store: DatasetStore, make_upload
):
    upload = make_upload()
    store.claim_next_dataset("w", 60, 3)
    assert store.release_dataset(upload.id, "w", attempt_used=True)
    crashed = store.claim_next_dataset("w", 60, 3)
    assert store.release_dataset(upload.id, "w", attempt_used=False)
    handed_back = store.get_dataset(upload.id)

    assert crashed is not None and crashed.attempts == 2
    assert handed_back.attempts == 1 and handed_back.claimed_by is None
    assert handed_back.status == DatasetStatus.PROCESSING
    assert store.release_dataset(upload.id, "w", attempt_used=False) is False  # not claimed


def test_only_the_claiming_worker_records_how_the_preparation_ended(
    store: DatasetStore, make_upload
):
    upload = make_upload()
    store.claim_next_dataset("w", 60, 3)
    outcome = {"class_names": ["a", "b"], "train_count": 8, "progress": {"done": 10, "total": 10}}

    refused = store.finish_dataset(upload.id, DatasetStatus.READY, "other", **outcome)
    recorded = store.finish_dataset(upload.id, DatasetStatus.READY, "w", **outcome)
    again = store.finish_dataset(upload.id, DatasetStatus.FAILED, "w", error_message="late")

    assert (refused, recorded, again) == (False, True, False)
    ready = store.get_dataset(upload.id)
    assert ready.status == DatasetStatus.READY and ready.class_names == ["a", "b"]
    assert ready.train_count == 8 and ready.progress == {"done": 10, "total": 10}
    assert ready.claimed_by is None and ready.heartbeat_at is None and ready.error_message is None


@pytest.mark.parametrize("status", [DatasetStatus.READY, DatasetStatus.FAILED])
def test_delete_removes_a_dataset_and_keeps_the_jobs_that_ended_on_it(
    store: DatasetStore, make_upload, make_job, job_store, status
):
    upload, other = make_upload(status), make_upload(status)
    ended = {}
    for final in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED):
        job = make_job(dataset=upload.id)
        job_store.finish_job(job.id, final, error=ValueError("x"), model_id="m")
        ended[job.id] = final

    store.delete_dataset(upload.id)

    with pytest.raises(NotFoundError, match=f"No dataset with id {upload.id!r}"):
        store.get_dataset(upload.id)
    assert store.get_dataset(other.id).id == other.id
    for job_id, final in ended.items():
        kept = job_store.get_job(job_id)
        assert (kept.status, kept.dataset_id) == (final, upload.id)
    with pytest.raises(NotFoundError, match=f"No dataset with id {upload.id!r}"):
        store.delete_dataset(upload.id)


@pytest.mark.parametrize("claimed", [False, True], ids=["queued", "running"])
def test_delete_is_refused_while_an_unfinished_job_uses_the_dataset(
    store: DatasetStore, make_upload, make_job, job_store, claimed
):
    upload = make_upload(DatasetStatus.READY)
    make_job(dataset="cifar10")  # claimed first: the oldest
    job = make_job(dataset=upload.id)
    if claimed:
        job_store.claim_next_job("w", 60, 3)
        job_store.claim_next_job("w", 60, 3)
    status = "running" if claimed else "queued"

    with pytest.raises(ConflictError) as refusal:
        store.delete_dataset(upload.id)

    assert refusal.value.message == (
        f"Dataset {upload.id!r} is used by job {job.id!r} ({status}); cancel it "
        "(POST /jobs/{id}/cancel) or let it finish, then delete the dataset."
    )
    assert store.get_dataset(upload.id).status == DatasetStatus.READY
    job_store.request_cancel(job.id)
    if claimed:  # its worker stops it
        job_store.finish_job(job.id, JobStatus.CANCELLED, worker_id="w")
    store.delete_dataset(upload.id)
    with pytest.raises(NotFoundError):
        store.get_dataset(upload.id)


def test_a_refusal_names_the_first_jobs_and_counts_the_rest(
    store: DatasetStore, make_upload, make_job
):
    upload = make_upload(DatasetStatus.READY)
    jobs = [make_job(dataset=upload.id) for _ in range(MAX_JOBS_NAMED + 2)]

    with pytest.raises(ConflictError) as refusal:
        store.delete_dataset(upload.id)

    named = ", ".join(f"{job.id!r} (queued)" for job in jobs[:MAX_JOBS_NAMED])
    assert f"is used by jobs {named} and 2 more; cancel them " in refusal.value.message
    assert "or let them finish" in refusal.value.message


def test_delete_is_refused_while_the_dataset_is_being_prepared(store: DatasetStore, make_upload):
    waiting, claimed = make_upload(), make_upload()
    store.claim_next_dataset("w", 60, 3)  # the older one

    for upload in (waiting, claimed):
        with pytest.raises(ConflictError) as refusal:
            store.delete_dataset(upload.id)

        assert refusal.value.message == (
            f"Dataset {upload.id!r} is still being prepared (a worker checks and decodes its "
            f"images); wait until its status is ready or failed (GET /datasets/{upload.id}), "
            "then delete it."
        )
        assert store.get_dataset(upload.id).status == DatasetStatus.PROCESSING


def test_the_builtin_datasets_cannot_be_deleted(store: DatasetStore):
    store.ensure_builtin_datasets()

    for builtin in BUILTIN_DATASETS:
        with pytest.raises(ConflictError, match="is built in: the service and its workers record"):
            store.delete_dataset(builtin.id)
        assert store.get_dataset(builtin.id).kind == "builtin"


def test_a_delete_whose_job_ended_before_the_refusal_was_explained_tries_again(
    store: DatasetStore, make_upload, make_job, job_store, monkeypatch: pytest.MonkeyPatch
):
    upload = make_upload(DatasetStatus.READY)
    job = make_job(dataset=upload.id)
    explain = DatasetStore._refusal_to_delete

    def job_cancelled_meanwhile(self: DatasetStore, dataset_id: str) -> str | None:
        job_store.request_cancel(job.id)
        return explain(self, dataset_id)

    monkeypatch.setattr(DatasetStore, "_refusal_to_delete", job_cancelled_meanwhile)
    store.delete_dataset(upload.id)

    with pytest.raises(NotFoundError):
        store.get_dataset(upload.id)
