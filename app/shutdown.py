"""The server's shutdown, as the app sees it.

Uvicorn's graceful shutdown waits for every open response to finish, and tells a streaming
response nothing; a job's event stream can stay open for hours. So the server sets
`shutting_down` on the first SIGTERM/SIGINT, and the event streams end within one poll.
"""

import threading
from types import FrameType

import uvicorn

shutting_down = threading.Event()


class Server(uvicorn.Server):
    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        shutting_down.set()
        super().handle_exit(sig, frame)
