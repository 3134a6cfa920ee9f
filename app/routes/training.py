"""Starting training jobs."""

import secrets

from fastapi import APIRouter, Request, Response

from app.deps import ServicesDep
from app.routes.jobs import to_job_public
from core.datasets.status import require_ready
from core.errors import InvalidInputError
from core.schemas import JobPublic, TrainRequest
from core.tables import Dataset
from models import get_architecture

router = APIRouter(tags=["jobs"])


@router.post("/train", status_code=202)
def create_training_job(
    body: TrainRequest, services: ServicesDep, request: Request, response: Response
) -> JobPublic:
    """Queue a training job; follow it at the returned `url`."""
    # An unknown dataset is a 404 now, one not ready a 409, images too small for the network a
    # 422, not a failed job later.
    dataset = services.datasets.get_dataset(body.dataset)
    require_ready(dataset)
    _refuse_images_too_small(dataset, body.model)
    params = body.resolve(seed=secrets.randbelow(2**31))
    job = services.jobs.create_job(params, name=body.name)
    public = to_job_public(job, request)
    response.headers["Location"] = public.url
    return public


def _refuse_images_too_small(dataset: Dataset, model: str) -> None:
    # A ready dataset (require_ready) knows its image shape.
    assert dataset.image_shape is not None
    refusal = get_architecture(model).sizes.refusal(*dataset.image_shape[:2])
    if refusal:
        raise InvalidInputError(refusal)
