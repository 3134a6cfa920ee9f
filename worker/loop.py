"""The worker loop: claim a job, have a training process of its own train it, repeat.

This process imports neither TensorFlow nor Keras: it claims jobs, prepares uploaded datasets
beside them (worker/preparer.py) and follows each job's training process
(worker/training_processes.py), which records how its job ended.
"""

import logging
import os
import socket

from core.datasets.store import DatasetStore
from core.db import close_connections, create_session_factory
from core.job_store import JobStore
from core.settings import Settings
from core.worker_liveness import touch_liveness_file
from worker.preparer import DatasetPreparer
from worker.stopping import StopRequest
from worker.training_processes import TrainingProcess, train_in_process

log = logging.getLogger("worker")


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
    jobs, datasets = JobStore(sessions), DatasetStore(sessions)
    datasets.ensure_builtin_datasets()
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    log.info("worker ready", extra={"worker_id": worker_id})
    preparer = DatasetPreparer(settings, datasets, worker_id, stop.event, burst)
    preparer.start()
    spare: TrainingProcess | None = None
    jobs_run = 0
    try:
        while not stop.is_set() and (max_jobs is None or jobs_run < max_jobs):
            # Started ahead of the job it will train: it imports TensorFlow while the worker
            # waits for one.
            spare = spare or TrainingProcess()
            touch_liveness_file(settings)
            job = jobs.claim_next_job(
                worker_id, settings.heartbeat_timeout_seconds, settings.max_job_attempts
            )
            if job is None:
                if burst:
                    break
                stop.wait(settings.intervals.worker_poll_seconds)
                continue
            process, spare = spare, None
            with stop.running(job.id):
                train_in_process(job, process, settings, jobs, worker_id, stop)
            jobs_run += 1
    finally:
        if spare is not None:
            spare.end(grace_seconds=0)  # it has no job: nothing to lose
        if not burst or stop.is_set():
            preparer.stop()
        preparer.join()
        # Now, not at the interpreter's exit: SQLite folds its write-ahead log back into the
        # database file as its last connection closes.
        close_connections(sessions)
    return jobs_run
