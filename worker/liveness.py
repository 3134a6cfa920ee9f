"""A file the worker touches while alive, so a container health check can see it."""

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


def is_alive(settings: Settings, max_age_seconds: float) -> bool:
    try:
        return time.time() - liveness_file(settings).stat().st_mtime <= max_age_seconds
    except FileNotFoundError:
        return False
