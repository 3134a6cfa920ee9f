"""The server's shutdown, as the app sees it.

Uvicorn's graceful shutdown waits for every open response to finish, and tells a streaming
response nothing; a job's event stream can stay open for hours. So `shutting_down` is set on the
first SIGTERM/SIGINT the server receives, and the event streams end within one poll. The app
hooks the server's signal handlers as it starts, so this holds in every serving process, and
under a user's own `uvicorn` command too.
"""

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

shutting_down = threading.Event()

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def watch_for_shutdown() -> None:
    """Called from the app's startup, once the server has installed its own signal handlers."""
    if threading.current_thread() is not threading.main_thread():
        return  # an app served in-process (tests): no signals come
    for sig in _SIGNALS:
        server_handler = signal.getsignal(sig)
        if callable(server_handler):
            signal.signal(sig, _set_then_call(server_handler))


def _set_then_call(server_handler: Callable[[int, FrameType | None], Any]) -> Any:
    def handler(sig: int, frame: FrameType | None) -> None:
        shutting_down.set()
        server_handler(sig, frame)

    return handler
