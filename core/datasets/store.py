"""Records of datasets: the built-in ones and those users uploaded, the leases of the workers
that prepare uploads, and deleting an upload no job needs."""

from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.datasets.builtin import BUILTIN_DATASETS, find_builtin_dataset
from core.datasets.status import DatasetStatus
from core.db import SessionFactory
from core.errors import ConflictError, NotFoundError
from core.sql import rowcount
from core.status import FINAL_STATUSES
from core.tables import Dataset, Job, utc_now

# A refusal to delete names this many of the jobs that use the dataset, and counts the rest.
MAX_JOBS_NAMED = 5
# Tries at a delete whose refusal went away before it could be explained (its jobs ended).
_DELETE_ATTEMPTS = 3


class DatasetStore:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def ensure_builtin_datasets(self) -> None:
        """Record each built-in dataset once, however many processes start at the same time."""
        for dataset in BUILTIN_DATASETS:
            try:
                with self._sessions.begin() as session:
                    if session.get(Dataset, dataset.id) is None:
                        session.add(dataset.to_record())
            except IntegrityError:
                pass  # another worker or app recorded it between our look and our insert

    def add_dataset(self, dataset: Dataset) -> Dataset:
        with self._sessions.begin() as session:
            session.add(dataset)
        return dataset

    def get_dataset(self, dataset_id: str) -> Dataset:
        with self._sessions() as session:
            dataset = session.get(Dataset, dataset_id)
            if dataset is None:
                raise NotFoundError(f"No dataset with id {dataset_id!r}.")
            return dataset

    def list_datasets(self, limit: int = 50, offset: int = 0) -> tuple[list[Dataset], int]:
        with self._sessions() as session:
            total = session.scalar(select(func.count()).select_from(Dataset)) or 0
            page = (
                select(Dataset)
                .order_by(Dataset.created_at.desc(), Dataset.id)
                .limit(limit)
                .offset(offset)
            )
            return list(session.scalars(page)), total

    def delete_dataset(self, dataset_id: str) -> None:
        """Remove an uploaded dataset's record; refused while it is being prepared or a queued
        or running job uses it, and for built-in datasets. Jobs that ended and models trained on
        it keep its id."""
        if find_builtin_dataset(dataset_id) is not None:
            raise ConflictError(
                f"Dataset {dataset_id!r} is built in: the service and its workers record it "
                "again each time they start, so it cannot be deleted."
            )
        for _ in range(_DELETE_ATTEMPTS):
            # The checks and the delete are one statement whose row count is checked: a job
            # queued between a separate check and the delete would be left without its images.
            with self._sessions.begin() as session:
                deletable = delete(Dataset).where(*_deletable(dataset_id))
                if rowcount(session, deletable) == 1:
                    return
            refusal = self._refusal_to_delete(dataset_id)
            if refusal is not None:
                raise ConflictError(refusal)
        raise ConflictError(f"Dataset {dataset_id!r} keeps changing; try again.")

    def _refusal_to_delete(self, dataset_id: str) -> str | None:
        """Why the dataset cannot be deleted now; None if nothing holds it any more."""
        dataset = self.get_dataset(dataset_id)
        if dataset.status == DatasetStatus.PROCESSING:
            return (
                f"Dataset {dataset_id!r} is still being prepared (a worker checks and decodes its "
                f"images); wait until its status is ready or failed (GET /datasets/{dataset_id}), "
                "then delete it."
            )
        with self._sessions() as session:
            jobs = session.execute(
                select(Job.id, Job.status)
                .where(*_unfinished_jobs_on(dataset_id))
                .order_by(Job.created_at, Job.id)
            ).all()
        if not jobs:
            return None
        named = ", ".join(f"{job.id!r} ({job.status})" for job in jobs[:MAX_JOBS_NAMED])
        if len(jobs) > MAX_JOBS_NAMED:
            named += f" and {len(jobs) - MAX_JOBS_NAMED} more"
        jobs_named, them = ("jobs", "them") if len(jobs) > 1 else ("job", "it")
        return (
            f"Dataset {dataset_id!r} is used by {jobs_named} {named}; cancel {them} "
            f"(POST /jobs/{{id}}/cancel) or let {them} finish, then delete the dataset."
        )

    def claim_next_dataset(
        self, worker_id: str, heartbeat_timeout: float, max_attempts: int
    ) -> Dataset | None:
        """Take the oldest dataset waiting to be prepared, or one whose preparer stopped
        heartbeating; each claim is an attempt.

        As jobs are claimed (core/job_store.py): one conditional UPDATE whose row count is
        checked, the candidate read `FOR UPDATE SKIP LOCKED` on PostgreSQL. A dataset whose
        attempts are used up is failed instead of claimed.
        """
        while True:
            now = utc_now()
            lapsed = now - timedelta(seconds=heartbeat_timeout)
            claimable = (Dataset.status == DatasetStatus.PROCESSING) & or_(
                Dataset.claimed_by.is_(None), Dataset.heartbeat_at < lapsed
            )
            with self._sessions.begin() as session:
                candidate = session.execute(
                    select(Dataset.id, Dataset.attempts)
                    .where(claimable)
                    .order_by(Dataset.created_at, Dataset.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                ).first()
                if candidate is None:
                    return None
                unclaimed = [Dataset.id == candidate.id, Dataset.attempts == candidate.attempts]
                if candidate.attempts >= max_attempts:
                    _write_final_status(
                        session,
                        candidate.id,
                        DatasetStatus.FAILED,
                        *unclaimed,
                        error_message=f"Its preparation stopped {candidate.attempts} times "
                        "before it finished (the worker preparing it ended); it is not tried "
                        "again.",
                    )
                    continue
                claimed = rowcount(
                    session,
                    update(Dataset)
                    .where(Dataset.status == DatasetStatus.PROCESSING, *unclaimed)
                    .values(claimed_by=worker_id, heartbeat_at=now, attempts=Dataset.attempts + 1),
                )
            if claimed == 1:
                return self.get_dataset(candidate.id)

    def heartbeat_dataset(
        self, dataset_id: str, worker_id: str, progress: dict[str, Any] | None = None
    ) -> bool:
        """Record that the preparer is alive, and its progress; False once the dataset is no
        longer this worker's to prepare."""
        values: dict[str, Any] = {"heartbeat_at": utc_now()}
        if progress is not None:
            values["progress"] = progress
        return self._update_claimed(dataset_id, worker_id, **values)

    def release_dataset(self, dataset_id: str, worker_id: str, attempt_used: bool) -> bool:
        """Hand a dataset back to be claimed again: after a crash (`attempt_used`), or because
        its worker is stopping, which does not use up an attempt."""
        attempts = Dataset.attempts if attempt_used else Dataset.attempts - 1
        return self._update_claimed(
            dataset_id, worker_id, claimed_by=None, heartbeat_at=None, attempts=attempts
        )

    def finish_dataset(
        self, dataset_id: str, status: DatasetStatus, worker_id: str, **outcome: Any
    ) -> bool:
        """Write how a preparation ended (`outcome`: the ready dataset's columns, or a failed
        one's `error_message` and `problems`), as long as `worker_id` still prepares it."""
        with self._sessions.begin() as session:
            return _write_final_status(
                session, dataset_id, status, Dataset.claimed_by == worker_id, **outcome
            )

    def _update_claimed(self, dataset_id: str, worker_id: str, **values: Any) -> bool:
        claimed = [
            Dataset.id == dataset_id,
            Dataset.claimed_by == worker_id,
            Dataset.status == DatasetStatus.PROCESSING,
        ]
        with self._sessions.begin() as session:
            return rowcount(session, update(Dataset).where(*claimed).values(**values)) == 1


def _unfinished_jobs_on(dataset_id: str) -> list[ColumnElement[bool]]:
    return [Job.dataset_id == dataset_id, Job.status.not_in([s.value for s in FINAL_STATUSES])]


def _deletable(dataset_id: str) -> list[ColumnElement[bool]]:
    """The dataset, as long as no worker prepares it and no queued or running job uses it."""
    return [
        Dataset.id == dataset_id,
        Dataset.status != DatasetStatus.PROCESSING,
        ~exists().where(*_unfinished_jobs_on(dataset_id)),
    ]


def _write_final_status(
    session: Session, dataset_id: str, status: DatasetStatus, *condition: Any, **outcome: Any
) -> bool:
    """The one place a dataset's preparation ends: only while it is processing and `condition`
    holds (it is still the caller's to end)."""
    assert status != DatasetStatus.PROCESSING, status
    statement = (
        update(Dataset)
        .where(Dataset.id == dataset_id, Dataset.status == DatasetStatus.PROCESSING, *condition)
        .values(status=status, claimed_by=None, heartbeat_at=None, **outcome)
    )
    return rowcount(session, statement) == 1
