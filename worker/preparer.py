"""The thread that prepares uploaded datasets beside the training loop, so that an upload is
decoded while a job trains; the decoding itself runs in a child process of its own
(core/datasets/preparation.py)."""

import logging
import threading

from core.datasets.preparation import prepare_next_dataset
from core.datasets.store import DatasetStore
from core.settings import Settings

log = logging.getLogger("worker")


class DatasetPreparer:
    """Prepares datasets one at a time until stopped; with `burst`, until none is waiting.
    A stop request (`shutdown`, or `stop()`) hands the dataset it prepares back at once."""

    def __init__(
        self,
        settings: Settings,
        store: DatasetStore,
        worker_id: str,
        shutdown: threading.Event,
        burst: bool = False,
    ) -> None:
        self._settings = settings
        self._store = store
        self._worker_id = worker_id
        self._shutdown = shutdown
        self._stopped = threading.Event()
        self._burst = burst
        self._thread = threading.Thread(target=self._run, name="dataset-preparer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def join(self) -> None:
        self._thread.join()

    def _should_stop(self) -> bool:
        return self._stopped.is_set() or self._shutdown.is_set()

    def _run(self) -> None:
        while not self._should_stop():
            try:
                prepared = prepare_next_dataset(
                    self._settings, self._store, self._worker_id, self._should_stop
                )
            except Exception:  # a busy database must not end the thread; the next round retries
                log.exception("dataset preparation could not be started or recorded")
                prepared = None
            if prepared is None:
                if self._burst:
                    return
                self._stopped.wait(self._settings.intervals.worker_poll_seconds)
