"""A job's life as Server-Sent Events: its current state, then each change, then its outcome.

The worker writes progress to the database, so the stream reads the job every
`INTERVALS__EVENTS_POLL_SECONDS` and sends what changed since the last read; that interval is
shorter than the worker's between two progress writes, so each write is seen.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from fastapi.concurrency import run_in_threadpool
from fastapi.sse import ServerSentEvent

from app.shutdown import shutting_down
from core.errors import NotFoundError
from core.job_store import JobStore
from core.schemas import EpochMetrics, JobPublic
from core.status import FINAL_STATUSES
from core.tables import Job

# The browser's EventSource reconnects by itself; a stream that ended should not be retried soon.
RETRY_MILLISECONDS = 5000


@dataclass(frozen=True)
class Seen:
    """What the client has been told so far."""

    status: str
    progress: dict[str, Any] | None
    epochs: tuple[EpochMetrics, ...]

    @classmethod
    def of(cls, job: Job) -> "Seen":
        epochs = tuple(EpochMetrics.model_validate(epoch) for epoch in job.history)
        return cls(job.status, job.progress, epochs)


class SharedJobReads:
    """Streams that follow the same job share its reads: a read started less than
    `fresh_seconds` ago answers them all, so a hundred streams of one job cost one query a poll."""

    def __init__(self, jobs: JobStore, fresh_seconds: float) -> None:
        self._jobs = jobs
        self._fresh_seconds = fresh_seconds
        self._reads: dict[str, tuple[float, asyncio.Future[Job]]] = {}

    async def get_job(self, job_id: str) -> Job:
        now = time.monotonic()
        started, read = self._reads.get(job_id, (now, None))
        if read is None or now - started >= self._fresh_seconds:
            self._forget_reads_before(now - self._fresh_seconds)
            read = asyncio.ensure_future(run_in_threadpool(self._jobs.get_job, job_id))
            self._reads[job_id] = (now, read)
        # Shielded: a stream that closes must not cancel the read that others wait for.
        return await asyncio.shield(read)

    def _forget_reads_before(self, moment: float) -> None:
        for job_id, (started, _) in list(self._reads.items()):
            if started < moment:
                del self._reads[job_id]


async def follow_job(
    job: Job,
    jobs: SharedJobReads,
    to_public: Callable[[Job], JobPublic],
    poll_seconds: float,
) -> AsyncIterator[ServerSentEvent]:
    yield ServerSentEvent(event="state", data=to_public(job), retry=RETRY_MILLISECONDS)
    seen = Seen.of(job)
    while job.status not in FINAL_STATUSES:
        await asyncio.sleep(poll_seconds)
        if shutting_down.is_set():
            return  # the client reconnects to the next server and gets the state again
        try:
            job = await jobs.get_job(job.id)
        except NotFoundError:
            return  # deleted once it ended, between two reads: nothing more will happen
        now = Seen.of(job)
        for event in changes(seen, now):
            yield event
        seen = now
    yield ServerSentEvent(event="end", data=to_public(job))


def changes(before: Seen, after: Seen) -> list[ServerSentEvent]:
    """The events that lead from `before` to `after`, the final outcome excepted."""
    events = [
        ServerSentEvent(event="epoch", data=epoch)
        for epoch in after.epochs
        if epoch not in before.epochs
    ]
    if after.status != before.status and after.status not in FINAL_STATUSES:
        events.append(ServerSentEvent(event="status", data={"status": after.status}))
    if after.progress != before.progress and after.progress is not None:
        data = {"status": after.status, "progress": after.progress}
        events.append(ServerSentEvent(event="progress", data=data))
    return events
