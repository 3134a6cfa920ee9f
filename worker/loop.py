"""The worker loop: claim a job, train it, record the outcome in one place, repeat."""

import logging
import os
import signal
import socket
import threading
from types import FrameType

from core.dataset_store import DatasetStore
from core.db import create_session_factory
from core.job_store import JobStore
from core.logs import job_log_file, job_logger
from core.model_store import ModelStore
from core.settings import Settings
from core.status import JobStatus
from core.tables import Job
from core.worker_liveness import touch_liveness_file
from worker.control import JobControl
from worker.distribution import get_distribution
from worker.interruptions import JobCancelled, JobLost, WorkerStopping
from worker.training import Stores, train_job
from worker.watcher import JobWatcher

log = logging.getLogger("worker")


class StopRequest:
    """The first SIGTERM/SIGINT stops the current job at the next batch boundary and hands it
    back to the queue, to be resumed from its last checkpoint; a second one exits at once."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._event.is_set():
            raise SystemExit(128 + signum)
        log.info("stop requested; handing the current job back", extra={"signal": signum})
        self._event.set()

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
    """Process jobs until stopped; `burst` returns once the queue is empty. Returns jobs run."""
    stop = stop or StopRequest()
    sessions = create_session_factory(settings)
    stores = Stores(JobStore(sessions), ModelStore(sessions), DatasetStore(sessions))
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
    jobs_run = 0
    while not stop.is_set() and (max_jobs is None or jobs_run < max_jobs):
        touch_liveness_file(settings)
        job = stores.jobs.claim_next_job(
            worker_id, settings.heartbeat_timeout_seconds, settings.max_job_attempts
        )
        if job is None:
            if burst:
                break
            stop.wait(settings.worker_poll_seconds)
            continue
        control = JobControl(shutdown=stop.event)
        with (
            job_log_file(settings.job_dir(job.id), "worker"),
            JobWatcher(stores.jobs, job.id, worker_id, settings, control),
        ):
            run_job(job, settings, stores, control, worker_id)
        jobs_run += 1
    return jobs_run


def run_job(
    job: Job, settings: Settings, stores: Stores, control: JobControl, worker_id: str
) -> None:
    """Train one job and write how it ended, as long as this worker still owns it."""
    job_log = job_logger("worker", job.id)
    job_log.info("job started", extra={"attempt": job.attempts, "params": job.params})
    try:
        model = train_job(job, settings, stores, control)
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
    recorded = stores.jobs.finish_job(
        job.id,
        JobStatus.SUCCEEDED,
        model_id=model.id,
        test_accuracy=model.metrics["test_accuracy"],
        test_loss=model.metrics["test_loss"],
        worker_id=worker_id,
    )
    job_log.info(
        "job succeeded" if recorded else "job trained, but another worker owns it now",
        extra={"model_id": model.id, "metrics": model.metrics},
    )
