"""Following training jobs."""

import shutil
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.sse import EventSourceResponse, ServerSentEvent

from app.binary_responses import PNG_RESPONSES, png_response
from app.deps import EventStreamSlot, JobDep, Limit, Offset, ServicesDep
from app.job_events import follow_job
from app.public_urls import public_url_for
from core.logs import read_job_log
from core.plots import job_curves_png
from core.schemas import EpochMetrics, JobError, JobLogPublic, JobPublic, JobsPublic, TrainParams
from core.server_paths import without_server_paths
from core.status import JobStatus
from core.tables import Job

router = APIRouter(prefix="/jobs", tags=["jobs"])

LogLimit = Annotated[int, Query(ge=1, le=10_000, description="Most records to return.")]


def to_job_public(job: Job, request: Request) -> JobPublic:
    error = None
    if job.error_type:
        message = without_server_paths(
            job.error_message or "", request.app.state.services.settings.data_dir
        )
        error = JobError(type=job.error_type, message=message)
    return JobPublic(
        id=job.id,
        name=job.name,
        status=JobStatus(job.status),
        url=public_url_for(request, "read_job", job_id=job.id),
        dataset=job.dataset_id,
        model=job.architecture,
        params=TrainParams.model_validate(job.params),
        progress=job.progress,
        history=[EpochMetrics.model_validate(epoch) for epoch in job.history],
        devices=job.devices,
        replicas=job.replicas,
        runtime=job.runtime,
        attempts=job.attempts,
        cancel_requested_at=job.cancel_requested_at,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        updated_at=job.updated_at,
        error=error,
        model_id=job.model_id,
        test_accuracy=job.test_accuracy,
        test_loss=job.test_loss,
        promotion=job.promotion,
        warning=job.warning,
    )


@router.get("")
def read_jobs(
    services: ServicesDep,
    request: Request,
    status: JobStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> JobsPublic:
    """List jobs, newest first, optionally only those with one status."""
    jobs, count = services.jobs.list_jobs(status, limit, offset)
    return JobsPublic(
        data=[to_job_public(job, request) for job in jobs], count=count, limit=limit, offset=offset
    )


@router.get("/{job_id}")
def read_job(job_id: str, services: ServicesDep, request: Request) -> JobPublic:
    """A job's status, progress, per-epoch history and outcome."""
    return to_job_public(services.jobs.get_job(job_id), request)


@router.get("/{job_id}/events", response_class=EventSourceResponse, responses={404: {}, 429: {}})
async def read_job_events(
    job: JobDep, _slot: EventStreamSlot, services: ServicesDep, request: Request
) -> AsyncIterator[ServerSentEvent]:
    """Follow a job as Server-Sent Events: `state` first, then `status`, `progress` and
    `epoch` as they happen, then `end` with the outcome, after which the stream closes.
    Over the bounds on open streams (per client, and in all), `429` with `Retry-After`."""
    events = follow_job(
        job,
        services.job_reads,
        lambda changed: to_job_public(changed, request),
        services.settings.intervals.events_poll_seconds,
    )
    async for event in events:
        yield event


@router.get("/{job_id}/logs")
async def read_job_logs(
    job: JobDep,
    services: ServicesDep,
    offset: Offset = 0,
    limit: LogLimit = 1000,
) -> JobLogPublic:
    """The worker's log records for a job, oldest first; follow it with `offset=count`."""
    records, count = await run_in_threadpool(
        read_job_log, services.settings.job_dir(job.id), offset, limit
    )
    return JobLogPublic(data=records, count=count, offset=offset)


@router.post("/{job_id}/cancel", responses={202: {"model": JobPublic}, 409: {}})
def cancel_job(
    job_id: str, services: ServicesDep, request: Request, response: Response
) -> JobPublic:
    """Cancel a job: a queued one at once (200); a running one stops at its next batch (202)."""
    job = services.jobs.request_cancel(job_id)
    if job.status == JobStatus.RUNNING:
        response.status_code = 202
    return to_job_public(job, request)


@router.delete("/{job_id}", status_code=204, responses={409: {}})
def delete_job(job_id: str, services: ServicesDep) -> None:
    """Delete a finished job's record and checkpoints; the model it trained stays."""
    services.jobs.delete_job(job_id)
    shutil.rmtree(services.settings.job_dir(job_id), ignore_errors=True)


@router.get("/{job_id}/curves.png", response_class=Response, responses=PNG_RESPONSES)
async def read_job_curves(job: JobDep) -> Response:
    """Loss and accuracy per epoch, train and validation, as a PNG; so far, while it runs."""
    return await png_response(job_curves_png, job)
