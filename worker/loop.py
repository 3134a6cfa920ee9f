"""The worker loop: claim a job, train it, record the outcome in one place, repeat."""

import logging
import os
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from core.datasets.store import DatasetStore
from core.db import close_connections, create_session_factory
from core.job_store import JobStore
from core.logs import job_log_file, job_logger
from core.model_registry import ModelRegistry
from core.settings import Settings
from core.status import JobStatus
from core.tables import Job
from core.worker_liveness import touch_liveness_file
from worker.control import JobControl
from worker.distribution import get_distribution
from worker.interruptions import JobCancelled, JobLost, WorkerStopping
from worker.memory import release_training_memory
from worker.preparer import DatasetPreparer
from worker.training import Stores, train_job
from worker.watcher import JobWatcher

log = logging.getLogger("worker")


class StopRequest:
    """The first SIGTERM/SIGINT, or the end of the app that supervises the worker, stops it: a
    running job stops at its next batch boundary and goes back to the queue, to be resumed from
    its last checkpoint; an idle worker exits at once. A second signal exits at once."""

    def __init__(self) -> None:
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
            log.info(f"{reason}; no job is running, so the worker exits", extra=extra)
        else:
            log.info(
                f"{reason}; the running job goes back to the queue at its next batch, "
                "then the worker exits",
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


def run_worker(
    settings: Settings,
    stop: StopRequest | None = None,
    burst: bool = False,
    max_jobs: int | None = None,
) -> int:
    """Process jobs, and prepare uploaded datasets beside them, until stopped; `burst` returns
    once both queues are empty. Returns jobs run."""
    stop = stop or StopRequest()
    sessions = create_session_factory(settings)
    stores = Stores(JobStore(sessions), DatasetStore(sessions), ModelRegistry(sessions))
    stores.datasets.ensure_builtin_datasets()
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    distribution = get_distribution(settings.cpu_replicas, settings.xla_cache_dir)
    log.info(
        "worker ready",
        extra={
            "worker_id": worker_id,
            "devices": distribution.devices,
            "replicas": distribution.replicas,
        },
    )
    preparer = DatasetPreparer(settings, stores.datasets, worker_id, stop.event, burst)
    preparer.start()
    jobs_run = 0
    try:
        while not stop.is_set() and (max_jobs is None or jobs_run < max_jobs):
            touch_liveness_file(settings)
            job = stores.jobs.claim_next_job(
                worker_id, settings.heartbeat_timeout_seconds, settings.max_job_attempts
            )
            if job is None:
                if burst:
                    break
                stop.wait(settings.intervals.worker_poll_seconds)
                continue
            control = JobControl(shutdown=stop.event)
            with (
                stop.running(job.id),
                job_log_file(settings.job_dir(job.id), "worker"),
                JobWatcher(stores.jobs, job.id, worker_id, settings, control),
            ):
                run_job(job, settings, stores, control, worker_id)
            # The job's model and batches are unreachable now: an idle worker gives them back.
            release_training_memory()
            jobs_run += 1
    finally:
        if not burst or stop.is_set():
            preparer.stop()
        preparer.join()
        # Now, not at the interpreter's exit: SQLite folds its write-ahead log back into the
        # database file as its last connection closes.
        close_connections(sessions)
    return jobs_run


def run_job(
    job: Job, settings: Settings, stores: Stores, control: JobControl, worker_id: str
) -> None:
    """Train one job and write how it ended, as long as this worker still owns it."""
    job_log = job_logger("worker", job.id)
    job_log.info("job started", extra={"attempt": job.attempts, "params": job.params})
    try:
        trained = train_job(job, settings, stores, control)
    except JobCancelled:
        stores.jobs.finish_job(job.id, JobStatus.CANCELLED, worker_id=worker_id)
        job_log.info("job cancelled")
        return
    except WorkerStopping:
        stores.jobs.requeue_job(job.id, worker_id)
        job_log.info("job handed back to the queue; it resumes from its last checkpoint")
        return
    except JobLost:
        job_log.warning("job taken over by another worker; this one stops training it")
        return
    except Exception as error:
        job_log.exception("job failed")
        stores.jobs.finish_job(job.id, JobStatus.FAILED, error=error, worker_id=worker_id)
        return
    model = trained.model
    recorded = stores.jobs.finish_job(
        job.id,
        JobStatus.SUCCEEDED,
        model_id=model.id,
        test_accuracy=model.metrics["test_accuracy"],
        test_loss=model.metrics["test_loss"],
        promotion=trained.promotion.to_record(),
        warning=model.warning,
        worker_id=worker_id,
    )
    job_log.info(
        "job succeeded" if recorded else "job trained, but another worker owns it now",
        extra={"model_id": model.id, "metrics": model.metrics},
    )
