"""Structured (JSON) logs; records about a job carry its id."""

import logging
import sys
from typing import Any

from pythonjsonlogger.json import JsonFormatter


def configure_logging(level: str, process: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields={"process": process},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Alembic's notes at every start (plugins, dialect) are noise; core.migrate says what changed.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def job_logger(name: str, job_id: str) -> logging.LoggerAdapter[Any]:
    return logging.LoggerAdapter(logging.getLogger(name), {"job_id": job_id})
