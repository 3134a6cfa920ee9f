"""Builds the FastAPI app: lifespan, routers and error handlers."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Security
from fastapi.staticfiles import StaticFiles

from app.api_processes import end_with_parent
from app.auth import ApiKeyMiddleware, bearer_scheme
from app.body_limit import BodySizeLimitMiddleware, body_limits
from app.cross_origin import CrossOriginProtectionMiddleware
from app.errors import install_error_handlers
from app.head_requests import HeadRequestMiddleware
from app.metrics import Metrics, RequestMetricsMiddleware
from app.routes import (
    architectures,
    dashboard,
    datasets,
    health,
    jobs,
    model_names,
    models,
    predict,
    training,
)
from app.routes import metrics as metrics_route
from app.services import Services
from app.shutdown import watch_for_shutdown
from core.logs import configure_logging
from core.settings import Settings, get_settings
from models.backend import apply_tensorflow_defaults


def create_app(settings: Settings | None = None) -> FastAPI:
    apply_tensorflow_defaults()  # Keras is imported later, with the first model
    settings = settings or get_settings()
    configure_logging(settings.log_level, "api")
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        watch_for_shutdown()
        end_with_parent()
        services = Services.create(settings, metrics)
        app.state.services = services
        if services.supervisor is not None:
            services.supervisor.start()
        if settings.api_processes > 1:
            # One of several serving processes, which answer while this one starts: it takes
            # requests once the default model is loaded, so that none of them waits for the load.
            await services.model_cache.load_default()
        preloader = asyncio.create_task(services.model_cache.load_default_in_background())
        try:
            yield
        finally:
            preloader.cancel()
            await services.model_cache.close()
            services.predictor.close()
            if services.supervisor is not None:
                await services.supervisor.stop()

    app = FastAPI(
        title="Keras train & serve",
        version="0.1.0",
        summary="Train Keras image classifiers on your GPUs and serve their predictions.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    # Innermost: the middlewares outside see the request's own method, HEAD.
    app.add_middleware(HeadRequestMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, limit_for=body_limits(settings))
    # Outside the body limit, so a request without the right key is refused before its body is
    # read; inside the metrics, so that refusals are counted.
    app.add_middleware(ApiKeyMiddleware, keys=settings.api_keys)
    # Outside the keys, so that a page on another site is refused alike with keys or without.
    app.add_middleware(CrossOriginProtectionMiddleware)
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics)
    # The prediction route first: routes are tried in order, and it takes most of the traffic.
    # The API key scheme is declared on the guarded routes for the documentation (app/auth.py
    # checks the keys); predict declares it itself, since a dependency costs every request.
    app.include_router(predict.router)
    for module in (training, jobs, models, model_names, architectures, datasets, metrics_route):
        app.include_router(module.router, dependencies=[Security(bearer_scheme)])
    app.include_router(health.router)  # the probes are open
    # The dashboard: a page at `/` and its files, open to all (app/auth.py); the API stays guarded.
    app.include_router(dashboard.router)
    app.mount("/static", StaticFiles(directory=dashboard.STATIC_DIR), name="static")
    return app
