"""Builds the FastAPI app: lifespan, routers and error handlers."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.body_limit import BodySizeLimitMiddleware
from app.errors import install_error_handlers
from app.routes import datasets, health, jobs, models, predict, training
from app.services import Services
from core.logs import configure_logging
from core.settings import Settings, get_settings

MULTIPART_OVERHEAD_BYTES = 64 * 1024


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, "api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = Services.create(settings)
        app.state.services = services
        if services.supervisor is not None:
            services.supervisor.start()
        try:
            yield
        finally:
            if services.supervisor is not None:
                await services.supervisor.stop()

    app = FastAPI(
        title="Keras train & serve",
        version="0.1.0",
        summary="Train Keras image classifiers on your GPUs and serve their predictions.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, limit_for_path=_body_limits(settings))
    for module in (training, jobs, predict, models, datasets, health):
        app.include_router(module.router)
    return app


def _body_limits(settings: Settings) -> Callable[[str], int]:
    upload = settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES
    archive = settings.max_dataset_upload_bytes + MULTIPART_OVERHEAD_BYTES

    def limit_for_path(path: str) -> int:
        return archive if path.rstrip("/") == "/datasets" else upload

    return limit_for_path
