import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from core.errors import ConflictError, NotFoundError
from core.job_store import JobStore
from core.status import JobStatus
from core.tables import Job, JobEpoch, utc_now


@pytest.fixture
def settings(settings_on_each_database):
    return settings_on_each_database


def test_created_job_is_queued_with_resolved_params(make_job, job_store: JobStore):
    job = make_job(epochs=3)

    stored = job_store.get_job(job.id)
    assert stored.status == JobStatus.QUEUED
    assert stored.params["epochs"] == 3
    assert stored.params["batch_size"] == 32  # from the seed_cnn recipe
    assert stored.history == []


def test_unknown_job_is_not_found(job_store: JobStore):
    with pytest.raises(NotFoundError, match="nope"):
        job_store.get_job("nope")


def test_list_is_newest_first_paginated_and_filtered(make_job, job_store: JobStore):
    jobs = [make_job() for _ in range(5)]
    job_store.finish_job(jobs[1].id, JobStatus.FAILED, error=ValueError("x"))

    page, total = job_store.list_jobs(limit=2, offset=0)
    assert total == 5
    assert [j.id for j in page] == [jobs[4].id, jobs[3].id]
    page, _ = job_store.list_jobs(limit=2, offset=4)
    assert [j.id for j in page] == [jobs[0].id]
    failed, total_failed = job_store.list_jobs(status=JobStatus.FAILED)
    assert total_failed == 1 and failed[0].id == jobs[1].id


def test_claim_takes_oldest_queued_job_once(make_job, job_store: JobStore):
    first, second = make_job(), make_job()

    claimed = job_store.claim_next_job("w1", heartbeat_timeout=60, max_attempts=3)
    again = job_store.claim_next_job("w2", heartbeat_timeout=60, max_attempts=3)
    third = job_store.claim_next_job("w3", heartbeat_timeout=60, max_attempts=3)

    assert claimed is not None and claimed.id == first.id
    assert claimed.status == JobStatus.RUNNING and claimed.worker_id == "w1"
    assert claimed.attempts == 1 and claimed.started_at is not None
    assert again is not None and again.id == second.id
    assert third is None


def test_racing_workers_never_share_a_job(make_job, job_store: JobStore):
    job_ids = {make_job().id for _ in range(30)}
    claims: list[tuple[str, str]] = []
    lock = threading.Lock()

    def drain(worker_id: str) -> None:
        while (job := job_store.claim_next_job(worker_id, 60, 3)) is not None:
            with lock:
                claims.append((job.id, worker_id))

    threads = [threading.Thread(target=drain, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    claimed_ids = [job_id for job_id, _ in claims]
    assert sorted(claimed_ids) == sorted(job_ids)  # every job exactly once


def _lapse_heartbeat(job_store: JobStore, job_id: str) -> None:
    with job_store._sessions.begin() as session:
        session.execute(
            update(Job).where(Job.id == job_id).values(heartbeat_at=utc_now() - timedelta(hours=1))
        )


def test_job_of_a_dead_worker_is_reclaimed_with_its_history(make_job, job_store: JobStore):
    job = make_job(epochs=3)
    job_store.claim_next_job("dead", 60, 3)
    job_store.record_epoch(job.id, {"epoch": 1, "seconds": 1.0, "loss": 2.0}, {"epoch": 1})
    assert job_store.claim_next_job("other", 60, 3) is None  # heartbeat still fresh

    _lapse_heartbeat(job_store, job.id)
    reclaimed = job_store.claim_next_job("other", 60, 3)

    assert reclaimed is not None and reclaimed.id == job.id
    assert reclaimed.worker_id == "other" and reclaimed.attempts == 2
    # The new worker resumes from the checkpoint of epoch 1, so its record stays.
    assert [e.epoch for e in reclaimed.history] == [1]
    assert job_store.heartbeat(job.id, "dead") is False


def test_resume_discards_epochs_past_the_checkpoint(make_job, job_store: JobStore):
    job = make_job(epochs=5)
    for epoch in (1, 2, 3):
        job_store.record_epoch(job.id, {"epoch": epoch, "seconds": 1.0}, {"epoch": epoch})

    job_store.discard_epochs_after(job.id, 2)

    assert [e.epoch for e in job_store.get_job(job.id).history] == [1, 2]


def test_job_out_of_attempts_fails_with_reason(make_job, job_store: JobStore):
    job = make_job()
    job_store.claim_next_job("a", 60, max_attempts=1)
    _lapse_heartbeat(job_store, job.id)

    assert job_store.claim_next_job("b", 60, max_attempts=1) is None
    failed = job_store.get_job(job.id)
    assert failed.status == JobStatus.FAILED
    assert failed.error_type == "WorkerLost" and "1 times" in (failed.error_message or "")


def test_heartbeat_only_counts_for_the_owning_worker(make_job, job_store: JobStore):
    job = make_job()
    job_store.claim_next_job("owner", 60, 3)

    assert job_store.heartbeat(job.id, "owner") is True
    assert job_store.heartbeat(job.id, "stranger") is False


def test_record_epoch_keeps_each_epoch_once(make_job, job_store: JobStore):
    job = make_job()
    job_store.record_epoch(job.id, {"epoch": 1, "seconds": 1.0, "loss": 2.0}, {"epoch": 1})
    job_store.record_epoch(job.id, {"epoch": 1, "seconds": 1.5, "loss": 1.5}, {"epoch": 1})
    job_store.record_epoch(job.id, {"epoch": 2, "seconds": 1.0, "loss": 1.0}, {"epoch": 2})

    history = job_store.get_job(job.id).history
    assert [(e.epoch, e.loss) for e in history] == [(1, 1.5), (2, 1.0)]


def test_finish_job_records_outcome(make_job, job_store: JobStore):
    ok, bad = make_job(), make_job()
    job_store.finish_job(
        ok.id, JobStatus.SUCCEEDED, model_id="m1", test_accuracy=0.7, test_loss=0.9
    )
    job_store.finish_job(bad.id, JobStatus.FAILED, error=RuntimeError("out of memory"))

    done = job_store.get_job(ok.id)
    assert (done.status, done.model_id, done.test_accuracy) == ("succeeded", "m1", 0.7)
    assert done.finished_at is not None
    failed = job_store.get_job(bad.id)
    assert (failed.error_type, failed.error_message) == ("RuntimeError", "out of memory")


def test_cancelling_a_queued_job_ends_it_at_once(make_job, job_store: JobStore):
    job = make_job()

    cancelled = job_store.request_cancel(job.id)

    assert cancelled.status == JobStatus.CANCELLED and cancelled.finished_at is not None
    assert job_store.claim_next_job("w", 60, 3) is None


def test_cancelling_a_running_job_asks_its_worker(make_job, job_store: JobStore):
    job = make_job()
    job_store.claim_next_job("w", 60, 3)
    assert job_store.is_cancel_requested(job.id) is False

    running = job_store.request_cancel(job.id)

    assert running.status == JobStatus.RUNNING and running.cancel_requested_at is not None
    assert job_store.is_cancel_requested(job.id) is True
    assert job_store.request_cancel(job.id).cancel_requested_at == running.cancel_requested_at
    assert job_store.finish_job(job.id, JobStatus.CANCELLED, worker_id="w") is True
    assert job_store.get_job(job.id).status == JobStatus.CANCELLED


@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED])
def test_cancelling_a_finished_job_is_a_conflict(make_job, job_store: JobStore, status):
    job = make_job()
    job_store.finish_job(job.id, status)

    with pytest.raises(ConflictError, match=f"already {status}"):
        job_store.request_cancel(job.id)
    assert job_store.get_job(job.id).status == status


def test_cancel_of_a_job_whose_worker_died_ends_it_when_claimed(make_job, job_store: JobStore):
    job = make_job()
    job_store.claim_next_job("dead", 60, 3)
    job_store.request_cancel(job.id)
    _lapse_heartbeat(job_store, job.id)

    assert job_store.claim_next_job("other", 60, 3) is None
    assert job_store.get_job(job.id).status == JobStatus.CANCELLED


def test_requeued_job_is_resumed_without_using_an_attempt(make_job, job_store: JobStore):
    job = make_job()
    job_store.claim_next_job("stopping", 60, max_attempts=1)
    job_store.record_epoch(job.id, {"epoch": 1, "seconds": 1.0}, {"epoch": 1})

    assert job_store.requeue_job(job.id, "stranger") is False
    assert job_store.requeue_job(job.id, "stopping") is True
    queued = job_store.get_job(job.id)
    assert (queued.status, queued.worker_id, queued.attempts) == ("queued", None, 0)

    resumed = job_store.claim_next_job("next", 60, max_attempts=1)
    assert resumed is not None and resumed.id == job.id and resumed.attempts == 1
    assert [e.epoch for e in resumed.history] == [1]


def test_final_status_from_a_worker_that_lost_the_job_is_ignored(make_job, job_store: JobStore):
    job = make_job()
    job_store.claim_next_job("slow", 60, 3)
    _lapse_heartbeat(job_store, job.id)
    job_store.claim_next_job("new", 60, 3)

    written = job_store.finish_job(job.id, JobStatus.FAILED, error=ValueError(), worker_id="slow")

    assert written is False
    assert job_store.get_job(job.id).status == JobStatus.RUNNING


def test_delete_removes_a_finished_job_and_its_history(make_job, job_store: JobStore):
    job = make_job()
    job_store.record_epoch(job.id, {"epoch": 1, "seconds": 1.0}, {"epoch": 1})
    job_store.finish_job(job.id, JobStatus.FAILED, error=ValueError("x"))

    job_store.delete_job(job.id)

    with pytest.raises(NotFoundError):
        job_store.get_job(job.id)
    with job_store._sessions() as session:
        assert session.query(JobEpoch).filter_by(job_id=job.id).count() == 0


@pytest.mark.parametrize("claimed", [False, True], ids=["queued", "running"])
def test_delete_keeps_unfinished_jobs(make_job, job_store: JobStore, claimed):
    job = make_job()
    if claimed:
        job_store.claim_next_job("w", 60, 3)

    with pytest.raises(ConflictError, match="cancel it"):
        job_store.delete_job(job.id)
    assert job_store.get_job(job.id).id == job.id
    with pytest.raises(NotFoundError):
        job_store.delete_job("nope")
