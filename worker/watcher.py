"""A background thread that, while a job trains, heartbeats for it and looks for a cancel."""

import threading
import time
from types import TracebackType

from core.job_store import JobStore
from core.settings import Settings
from core.worker_liveness import touch_liveness_file
from worker.control import JobControl


class JobWatcher:
    def __init__(
        self,
        store: JobStore,
        job_id: str,
        worker_id: str,
        settings: Settings,
        control: JobControl,
    ) -> None:
        self._store = store
        self._job_id = job_id
        self._worker_id = worker_id
        self._settings = settings
        self._control = control
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"watch-{job_id}", daemon=True)

    def __enter__(self) -> "JobWatcher":
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopped.set()
        self._thread.join()

    def _watch(self) -> None:
        next_beat = 0.0
        while not self._stopped.wait(self._settings.intervals.job_watch_seconds):
            try:
                if time.monotonic() >= next_beat:
                    touch_liveness_file(self._settings)
                    if not self._store.heartbeat(self._job_id, self._worker_id):
                        self._control.mark_lost()
                    next_beat = time.monotonic() + self._settings.intervals.heartbeat_seconds
                if self._store.is_cancel_requested(self._job_id):
                    self._control.request_cancel()
            except Exception:  # a busy database must not stop training; the next round retries
                continue
