"""Running one claimed job in the training process: train it while watching for a stop, a cancel
or its loss to another worker, and write how it ended, in exactly one place."""

from core.datasets.store import DatasetStore
from core.db import close_connections, create_session_factory
from core.job_store import JobStore
from core.logs import job_log_file, job_logger
from core.model_registry import ModelRegistry
from core.settings import Settings
from core.status import JobStatus
from core.tables import Job
from worker.control import JobControl
from worker.interruptions import JobCancelled, JobLost, WorkerStopping
from worker.stopping import StopRequest
from worker.training import Stores, train_job
from worker.watcher import JobWatcher


def run_claimed_job(settings: Settings, job_id: str, worker_id: str, stop: StopRequest) -> None:
    """Run a job that the worker `worker_id` has claimed, as that worker."""
    sessions = create_session_factory(settings)
    stores = Stores(JobStore(sessions), DatasetStore(sessions), ModelRegistry(sessions))
    try:
        job = stores.jobs.get_job(job_id)
        control = JobControl(shutdown=stop.event)
        with (
            stop.running(job.id),
            job_log_file(settings.job_dir(job.id), "worker"),
            JobWatcher(stores.jobs, job.id, worker_id, settings, control),
        ):
            run_job(job, settings, stores, control, worker_id)
    finally:
        close_connections(sessions)


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
