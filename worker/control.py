"""What the training loop needs to know, at each batch, about whether to stop."""

import threading

from worker.interruptions import JobCancelled, JobInterrupted, JobLost, WorkerStopping


class JobControl:
    """Set by the job's watcher thread and the signal handler; read by the training callback."""

    def __init__(self, shutdown: threading.Event | None = None) -> None:
        self._shutdown = shutdown or threading.Event()
        self._cancel_requested = threading.Event()
        self._lost = threading.Event()

    def request_cancel(self) -> None:
        self._cancel_requested.set()

    def mark_lost(self) -> None:
        self._lost.set()

    def interruption(self) -> JobInterrupted | None:
        """The reason to stop now, if any; losing the job outranks a cancel or a shutdown."""
        if self._lost.is_set():
            return JobLost("Another worker took the job over after this one's heartbeat lapsed.")
        if self._cancel_requested.is_set():
            return JobCancelled("Cancelled on request.")
        if self._shutdown.is_set():
            return WorkerStopping("The worker is stopping; the job goes back to the queue.")
        return None
