"""How a worker process is asked to stop: by a signal, or by the process that started it."""

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger("worker")


class StopRequest:
    """The first SIGTERM/SIGINT, or the end of the app that supervises the worker, stops it: a
    running job stops at its next batch boundary and goes back to the queue, to be resumed from
    its last checkpoint; an idle worker exits at once. A second signal exits at once."""

    def __init__(self, process: str = "worker") -> None:
        self._process = process  # what exits, as the log says
        self._event = threading.Event()
        self._job_id: str | None = None

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._event.is_set():
            raise SystemExit(128 + signum)
        self.request("stop requested", signal=signum)

    def request(self, reason: str, **extra: object) -> None:
        """Stop the worker, and log `reason` with what becomes of the job it is running."""
        job_id = self._job_id
        if job_id is None:
            log.info(f"{reason}; no job is running, so the {self._process} exits", extra=extra)
        else:
            log.info(
                f"{reason}; the running job goes back to the queue at its next batch, "
                f"then the {self._process} exits",
                extra={"job_id": job_id, **extra},
            )
        self._event.set()

    @contextmanager
    def running(self, job_id: str) -> Iterator[None]:
        """Marks the job that a stop request hands back, while it runs."""
        self._job_id = job_id
        try:
            yield
        finally:
            self._job_id = None

    @property
    def event(self) -> threading.Event:
        return self._event

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        return self._event.wait(seconds)
