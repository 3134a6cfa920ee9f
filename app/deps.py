"""Request dependencies, as Annotated aliases."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from app.auth import client_of
from app.services import Services
from core.tables import Job, TrainedModel


async def get_services(request: Request) -> Services:
    # async: FastAPI would run a plain function in a thread, one trip per request.
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


# Looked up as dependencies, so an unknown id is a 404 before a streamed or file response starts.
async def get_job(job_id: str, services: ServicesDep) -> Job:
    return await run_in_threadpool(services.jobs.get_job, job_id)


async def get_model(model_id: str, services: ServicesDep) -> TrainedModel:
    return await run_in_threadpool(services.models.get_model, model_id)


# Held until the stream ends or its client leaves: the exit runs once the response is over.
async def hold_event_stream_slot(request: Request, services: ServicesDep) -> AsyncIterator[None]:
    with services.event_streams.hold(client_of(request, services.settings.api_keys)):
        yield


JobDep = Annotated[Job, Depends(get_job)]
ModelDep = Annotated[TrainedModel, Depends(get_model)]
EventStreamSlot = Annotated[None, Depends(hold_event_stream_slot)]

# Pagination of every list; the bounds keep values within what a database integer holds.
Limit = Annotated[int, Query(ge=1, le=500, description="Items per page.")]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1, description="Items to skip.")]
