"""Builds the FastAPI app: lifespan, routers and error handlers."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

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
    upload_limit = settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES
    archive_limit = settings.max_dataset_upload_bytes + MULTIPART_OVERHEAD_BYTES
    app.include_router(training.router)
    app.include_router(jobs.router)
    app.include_router(predict.router, max_body_size=upload_limit)
    app.include_router(models.router)
    app.include_router(datasets.router, max_body_size=archive_limit)
    app.include_router(health.router)
    return app
