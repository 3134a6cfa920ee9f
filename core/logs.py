"""Structured (JSON) logs; records about a job carry its id, and a job's records are also kept
in a file in its folder, for `GET /jobs/{id}/logs`."""

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pythonjsonlogger.json import JsonFormatter

JOB_LOG_FILE = "log.jsonl"


def json_formatter(process: str) -> JsonFormatter:
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        static_fields={"process": process},
    )


def configure_logging(level: str, process: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter(process))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Alembic's notes at every start (plugins, dialect) are noise; core.migrate says what changed.
    # So are TensorFlow's, which repeat how MirroredStrategy reduces each step's values.
    for chatty in ("alembic", "tensorflow"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


class _MergingAdapter(logging.LoggerAdapter[logging.Logger]):
    # Python 3.11's adapter replaces a call's `extra` with its own (3.13 adds merge_extra).
    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
        return msg, kwargs


def job_logger(name: str, job_id: str) -> logging.LoggerAdapter[logging.Logger]:
    return _MergingAdapter(logging.getLogger(name), {"job_id": job_id})


@contextmanager
def job_log_file(job_dir: Path, process: str) -> Iterator[None]:
    """While a worker runs a job, every record of its process is also appended to the job's
    log file: a worker runs one job at a time, so they all concern that job. A job resumed by
    another worker appends to the same file."""
    job_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(job_dir / JOB_LOG_FILE, encoding="utf-8")
    handler.setFormatter(json_formatter(process))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()


def read_job_log(job_dir: Path, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Records `offset` to `offset + limit` of a job's log, and how many it holds in all."""
    path = job_dir / JOB_LOG_FILE
    if not path.is_file():
        return [], 0
    with path.open(encoding="utf-8", errors="replace") as lines:
        records = [line for line in lines if line.strip()]
    return [_parse(line) for line in records[offset : offset + limit]], len(records)


def _parse(line: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        record = None
    # A line cut short by a crash mid-write is still shown, as its text.
    return record if isinstance(record, dict) else {"message": line.rstrip("\n")}
