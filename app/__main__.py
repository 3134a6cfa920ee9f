"""`python -m app`: serve the API (and, by default, supervise a training worker)."""

import logging

import uvicorn

from app.api_processes import serve_in_processes
from app.graceful_http import GracefulHttpProtocol
from core.logs import configure_logging
from core.retired_settings import retired_settings_given
from core.settings import Settings, get_settings

LOCALHOST = "127.0.0.1"
log = logging.getLogger("app")


def bind_address(settings: Settings) -> str:
    """HOST, unless no API keys are configured: then nobody else may reach the API."""
    if settings.api_keys:
        roles = list(settings.api_keys.values())
        log.info(
            "API keys required",
            extra={"admin_keys": roles.count("admin"), "predict_keys": roles.count("predict")},
        )
        return settings.host
    if settings.host != LOCALHOST:
        log.warning(
            "no API_KEYS configured: listening on 127.0.0.1 only, not on HOST; set API_KEYS "
            "to serve other machines",
            extra={"host": settings.host},
        )
    else:
        log.warning("no API_KEYS configured: anyone who can reach 127.0.0.1 may use the API")
    return LOCALHOST


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, "api")
    for warning in retired_settings_given():
        log.warning(warning)
    config = uvicorn.Config(
        "app.main:create_app",
        factory=True,
        host=bind_address(settings),
        port=settings.port,
        log_level=settings.log_level.lower(),
        workers=settings.api_processes,
        # A stop (SIGTERM, or SIGHUP's replacement of a serving process) answers the requests
        # already on their way to connections it accepted.
        http=GracefulHttpProtocol,
    )
    if settings.api_processes > 1:
        serve_in_processes(config, settings)
    else:
        uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
