"""Jobs in the database: creation, atomic claiming, progress, history and the final outcome."""

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.db import SessionFactory
from core.errors import ConflictError, NotFoundError
from core.schemas import TrainParams
from core.sql import rowcount
from core.status import FINAL_STATUSES, JobStatus
from core.tables import Job, JobEpoch, utc_now


class JobStore:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def create_job(self, params: TrainParams, name: str | None = None) -> Job:
        job = Job(
            id=uuid.uuid4().hex,
            status=JobStatus.QUEUED,
            name=name,
            dataset_id=params.dataset,
            architecture=params.model,
            params=params.model_dump(),
            history=[],
        )
        with self._sessions.begin() as session:
            session.add(job)
        return job

    def get_job(self, job_id: str) -> Job:
        with self._sessions() as session:
            job = session.get(Job, job_id)
            if job is None:
                raise NotFoundError(f"No job with id {job_id!r}.")
            return job

    def list_jobs(
        self, status: JobStatus | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[Job], int]:
        query = select(Job)
        if status is not None:
            query = query.where(Job.status == status)
        with self._sessions() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            page = query.order_by(Job.created_at.desc(), Job.id).limit(limit).offset(offset)
            return list(session.scalars(page)), total

    def count_by_status(self) -> dict[str, int]:
        with self._sessions() as session:
            rows = session.execute(select(Job.status, func.count()).group_by(Job.status))
            return {status: count for status, count in rows}

    def claim_next_job(
        self, worker_id: str, heartbeat_timeout: float, max_attempts: int
    ) -> Job | None:
        """Take the oldest queued job, or a running one whose worker stopped heartbeating.

        The claim is one conditional UPDATE whose row count is checked, so two workers racing
        for the same row cannot both win; the loser simply tries the next candidate. On
        PostgreSQL the candidate is also read `FOR UPDATE SKIP LOCKED`, so racing workers pass
        over each other's rows instead of waiting for them. A reclaimed job keeps its history:
        its new worker resumes it from its last checkpoint.
        """
        while True:
            now = utc_now()
            lapsed = now - timedelta(seconds=heartbeat_timeout)
            claimable = or_(
                Job.status == JobStatus.QUEUED,
                (Job.status == JobStatus.RUNNING) & (Job.heartbeat_at < lapsed),
            )
            with self._sessions.begin() as session:
                candidate = session.execute(
                    select(Job.id, Job.status, Job.attempts, Job.cancel_requested_at)
                    .where(claimable)
                    .order_by(Job.created_at, Job.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                ).first()
                if candidate is None:
                    return None
                if candidate.cancel_requested_at is not None:
                    # Its worker died before it could stop it; nothing is left to stop.
                    _write_final_status(
                        session, candidate.id, JobStatus.CANCELLED, only_if=candidate.status
                    )
                    continue
                if candidate.attempts >= max_attempts:
                    lost = WorkerLost(
                        f"The job's worker stopped {max_attempts} times before it finished; "
                        "it is not started again."
                    )
                    _write_final_status(
                        session, candidate.id, JobStatus.FAILED, lost, only_if=candidate.status
                    )
                    continue
                claimed = rowcount(
                    session,
                    update(Job)
                    .where(
                        Job.id == candidate.id,
                        Job.status == candidate.status,
                        Job.attempts == candidate.attempts,
                    )
                    .values(
                        status=JobStatus.RUNNING,
                        worker_id=worker_id,
                        heartbeat_at=now,
                        started_at=func.coalesce(Job.started_at, now),
                        attempts=Job.attempts + 1,
                        updated_at=now,
                    ),
                )
            if claimed == 1:
                return self.get_job(candidate.id)

    def request_cancel(self, job_id: str) -> Job:
        """Cancel a queued job at once; ask a running one's worker to stop it."""
        with self._sessions.begin() as session:
            cancelled_now = _write_final_status(
                session, job_id, JobStatus.CANCELLED, only_if=JobStatus.QUEUED
            )
            if not cancelled_now:
                session.execute(
                    update(Job)
                    .where(
                        Job.id == job_id,
                        Job.status == JobStatus.RUNNING,
                        Job.cancel_requested_at.is_(None),
                    )
                    .values(cancel_requested_at=utc_now(), updated_at=utc_now())
                )
        job = self.get_job(job_id)
        if cancelled_now:
            return job
        if JobStatus(job.status).is_final:
            raise ConflictError(
                f"Job {job_id!r} has already {job.status}; only queued or running jobs can be "
                "cancelled."
            )
        return job

    def is_cancel_requested(self, job_id: str) -> bool:
        with self._sessions() as session:
            requested = session.scalar(select(Job.cancel_requested_at).where(Job.id == job_id))
            return requested is not None

    def requeue_job(self, job_id: str, worker_id: str, attempt_used: bool = False) -> bool:
        """Hand a running job back to the queue, to be resumed later: its worker is stopping,
        or (`attempt_used`) its training crashed, which uses up an attempt as a lost worker
        does."""
        return self._update_owned(
            job_id,
            worker_id,
            status=JobStatus.QUEUED,
            worker_id=None,
            heartbeat_at=None,
            attempts=Job.attempts if attempt_used else Job.attempts - 1,
            updated_at=utc_now(),
        )

    def delete_job(self, job_id: str) -> None:
        """Remove a finished job's record and history; queued and running jobs are kept."""
        with self._sessions.begin() as session:
            finished = [Job.id == job_id, Job.status.in_([s.value for s in FINAL_STATUSES])]
            if session.scalar(select(func.count()).select_from(Job).where(*finished)):
                session.execute(delete(JobEpoch).where(JobEpoch.job_id == job_id))
                session.execute(delete(Job).where(*finished))
                return
        job = self.get_job(job_id)
        raise ConflictError(
            f"Job {job_id!r} is {job.status}; cancel it (POST /jobs/{job_id}/cancel) and delete it "
            "once it has stopped."
        )

    def discard_epochs_after(self, job_id: str, epoch: int) -> None:
        """Forget epochs past a checkpoint, which a resumed job trains again."""
        with self._sessions.begin() as session:
            session.execute(
                delete(JobEpoch).where(JobEpoch.job_id == job_id, JobEpoch.epoch > epoch)
            )

    def heartbeat(self, job_id: str, worker_id: str) -> bool:
        """Record that the worker is alive; False once the job is no longer this worker's."""
        return self._update_owned(job_id, worker_id, heartbeat_at=utc_now())

    def record_devices(self, job_id: str, devices: list[str], replicas: int) -> None:
        self._update(job_id, devices=devices, replicas=replicas)

    def record_runtime(self, job_id: str, runtime: dict[str, Any]) -> None:
        self._update(job_id, runtime=runtime)

    def record_progress(self, job_id: str, progress: dict[str, Any]) -> None:
        self._update(job_id, progress=progress, heartbeat_at=utc_now())

    def record_epoch(self, job_id: str, metrics: dict[str, Any], progress: dict[str, Any]) -> None:
        """Store one finished epoch (replacing an earlier record of it) and the progress."""
        row = {"job_id": job_id, **metrics}
        with self._sessions.begin() as session:
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            statement = insert(JobEpoch).values(**row)
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=["job_id", "epoch"],
                    set_={k: v for k, v in row.items() if k not in ("job_id", "epoch")},
                )
            )
            _update_job(session, job_id, progress=progress, heartbeat_at=utc_now())

    def finish_job(
        self,
        job_id: str,
        status: JobStatus,
        *,
        error: BaseException | None = None,
        model_id: str | None = None,
        test_accuracy: float | None = None,
        test_loss: float | None = None,
        promotion: dict[str, Any] | None = None,
        warning: str | None = None,
        worker_id: str | None = None,
    ) -> bool:
        """Write the outcome; with `worker_id`, only while that worker still owns the job."""
        outcome: dict[str, Any] = {}
        if model_id is not None:
            outcome = {
                "model_id": model_id,
                "test_accuracy": test_accuracy,
                "test_loss": test_loss,
                "promotion": promotion,
                "warning": warning,
            }
        owner = {"only_if": JobStatus.RUNNING, "worker_id": worker_id} if worker_id else {}
        with self._sessions.begin() as session:
            return _write_final_status(session, job_id, status, error, **owner, **outcome)

    def _update_owned(self, job_id: str, owner: str, **values: Any) -> bool:
        """Update a job only while `owner` runs it; whether it did."""
        with self._sessions.begin() as session:
            owned = [Job.id == job_id, Job.worker_id == owner, Job.status == JobStatus.RUNNING]
            return rowcount(session, update(Job).where(*owned).values(**values)) == 1

    def _update(self, job_id: str, **values: Any) -> None:
        with self._sessions.begin() as session:
            _update_job(session, job_id, **values)


class WorkerLost(Exception):
    """A job's worker stopped heartbeating too many times."""


def _update_job(session: Session, job_id: str, **values: Any) -> None:
    values.setdefault("updated_at", utc_now())
    session.execute(update(Job).where(Job.id == job_id).values(**values))


def _write_final_status(
    session: Session,
    job_id: str,
    status: JobStatus,
    error: BaseException | None = None,
    only_if: str | None = None,
    worker_id: str | None = None,
    **outcome: Any,
) -> bool:
    """The one place a job's final status is written. `only_if` (a status) and `worker_id`
    guard against a race: the write happens only if the job is still in that state."""
    assert status.is_final, status
    now = utc_now()
    values: dict[str, Any] = {"status": status, "finished_at": now, "updated_at": now, **outcome}
    if error is not None:
        values["error_type"] = type(error).__name__
        values["error_message"] = str(error) or repr(error)
    condition = [Job.id == job_id]
    if only_if is not None:
        condition.append(Job.status == only_if)
    if worker_id is not None:
        condition.append(Job.worker_id == worker_id)
    return rowcount(session, update(Job).where(*condition).values(**values)) == 1
