"""The life cycle of a training job."""

from enum import StrEnum


class JobStatus(StrEnum):
    QUEUED = "queued"  # waiting for a worker
    RUNNING = "running"  # claimed by a worker, which heartbeats while it trains
    SUCCEEDED = "succeeded"  # trained, evaluated and saved as a model
    FAILED = "failed"  # training raised, or the job ran out of attempts
    CANCELLED = "cancelled"  # stopped on a user's request

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})
