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
    """200 once a production version of the default name is loaded and warmed up, so a
    prediction does not wait for a load (the body says which name and version serve); 503
    before that, while there is none, or when it failed to load (the detail says why)."""
    serving = services.model_cache.serving()
    if serving is not None:
        detail = f"{serving.name} version {serving.version} is loaded and serves."
        if (failure := services.model_cache.production_failure()) is not None:
            detail += f" The production version failed to load: {failure}"
        return Readiness(
            ready=True,
            model_id=serving.id,
            name=serving.name,
            version=serving.version,
            detail=detail,
        )
    response.status_code = 503
    name, production = await run_in_threadpool(services.registry.default_production)
    if name is None:
        return Readiness(ready=False, model_id=None, detail="No trained model yet.")
    if production is None:
        detail = f"Model name {name!r} has no production version: set its alias `production`."
        return Readiness(ready=False, model_id=None, name=name, detail=detail)
    failure = services.model_cache.load_failure(production.id)
    return Readiness(
        ready=False,
        model_id=production.id,
        name=name,
        version=production.version,
        detail=(
            f"The production model failed to load. {failure}"
            if failure
            else f"Loading {name} version {production.version}."
        ),
    )
