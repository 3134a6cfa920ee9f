"""A background thread that records, while a job trains, that its worker is alive."""

import threading
from types import TracebackType

from core.job_store import JobStore
from core.settings import Settings
from worker.liveness import touch_liveness_file


class Heartbeat:
    def __init__(self, store: JobStore, job_id: str, worker_id: str, settings: Settings) -> None:
        self._store = store
        self._job_id = job_id
        self._worker_id = worker_id
        self._settings = settings
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{job_id}", daemon=True)

    def __enter__(self) -> "Heartbeat":
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

    def _beat(self) -> None:
        while not self._stopped.wait(self._settings.heartbeat_seconds):
            try:
                touch_liveness_file(self._settings)
                self._store.heartbeat(self._job_id, self._worker_id)
            except Exception:  # a busy database must not stop training; the next beat retries
                continue
