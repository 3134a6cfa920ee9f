"""A file the worker touches while alive, so a container health check, or an API process that
does not supervise the worker itself, can see it."""

import socket
import time
from pathlib import Path

from core.settings import Settings


def liveness_file(settings: Settings) -> Path:
    # One file per host: workers in separate containers share the data volume.
    return settings.data_dir / "workers" / f"{socket.gethostname()}.alive"


def touch_liveness_file(settings: Settings) -> None:
    path = liveness_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def is_alive(settings: Settings) -> bool:
    # Idle workers touch the file every poll, training ones every heartbeat.
    intervals = settings.intervals
    max_age_seconds = 3 * max(intervals.worker_poll_seconds, intervals.heartbeat_seconds)
    try:
        return time.time() - liveness_file(settings).stat().st_mtime <= max_age_seconds
    except FileNotFoundError:
        return False
