"""Prometheus metrics."""

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response)
async def read_metrics(services: ServicesDep) -> Response:
    """Metrics in Prometheus' text format."""
    # Reading the jobs touches the database: not on the event loop.
    body = await run_in_threadpool(services.metrics.exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
