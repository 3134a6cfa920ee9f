"""Starting training jobs."""

import secrets

from fastapi import APIRouter, Request, Response

from app.deps import ServicesDep
from app.routes.jobs import to_job_public
from core.datasets.status import require_ready
from core.schemas import JobPublic, TrainRequest

router = APIRouter(tags=["jobs"])


@router.post("/train", status_code=202)
def create_training_job(
    body: TrainRequest, services: ServicesDep, request: Request, response: Response
) -> JobPublic:
    """Queue a training job; follow it at the returned `url`."""
    # An unknown dataset is a 404 now, one not ready a 409, not a failed job later.
    require_ready(services.datasets.get_dataset(body.dataset))
    params = body.resolve(seed=secrets.randbelow(2**31))
    job = services.jobs.create_job(params, name=body.name)
    public = to_job_public(job, request)
    response.headers["Location"] = public.url
    return public
