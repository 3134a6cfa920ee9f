"""Liveness of the API, its database and its worker; readiness to predict."""

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import text

from app.deps import ServicesDep
from core.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz")
def read_health(services: ServicesDep) -> Health:
    """`ok` while the API answers and its database responds."""
    with services.sessions() as session:
        session.execute(text("SELECT 1"))
    return Health(status="ok", database="ok", worker=services.worker_state())


@router.get("/readyz", responses={503: {"model": Readiness}})
async def read_readiness(services: ServicesDep, response: Response) -> Readiness:
    """200 once the default (newest) model is loaded and warmed up, so a prediction does not
    wait for a load; 503 before that, while no model has been trained, or when the newest
    model failed to load (the detail says why)."""
    newest = await run_in_threadpool(services.models.find_newest_model)
    if newest is None:
        response.status_code = 503
        return Readiness(ready=False, model_id=None, detail="No trained model yet.")
    if not services.model_cache.is_loaded(newest.id):
        response.status_code = 503
        failure = services.model_cache.load_failure(newest.id)
        detail = f"The newest model failed to load. {failure}" if failure else None
        return Readiness(
            ready=False, model_id=newest.id, detail=detail or "Loading the newest model."
        )
    return Readiness(ready=True, model_id=newest.id, detail="The newest model is loaded.")
