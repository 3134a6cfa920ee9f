"""Liveness of the API, its database and its worker."""

from fastapi import APIRouter
from sqlalchemy import text

from app.deps import ServicesDep
from core.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz")
def read_health(services: ServicesDep) -> Health:
    """`ok` while the API answers and its database responds."""
    with services.sessions() as session:
        session.execute(text("SELECT 1"))
    supervisor = services.supervisor
    return Health(status="ok", database="ok", worker=supervisor.state if supervisor else "external")
