"""Training one job: load its data, fit and evaluate the network, save the model, register it
as a version of its name and decide whether it takes production."""

import shutil
from dataclasses import dataclass

from core.datasets.loading import load_dataset_arrays
from core.datasets.status import require_ready
from core.datasets.store import DatasetStore
from core.job_store import JobStore
from core.logs import job_logger
from core.model_registry import ModelRegistry
from core.promotion import PromotionDecision, chance_warning
from core.promotion_flow import promote_new_version
from core.schemas import TrainParams
from core.settings import Settings
from core.tables import Job, TrainedModel
from models import get_architecture
from worker.confusion import confusion_metrics
from worker.control import JobControl
from worker.distribution import get_distribution
from worker.fitting import fit_and_evaluate
from worker.interrupt import InterruptOnRequest
from worker.progress import ProgressReporter
from worker.replica_batches import replica_batch_size
from worker.saving import save_trained_model
from worker.tensorboard_logs import tensorboard_logging


@dataclass
class Stores:
    jobs: JobStore
    datasets: DatasetStore
    registry: ModelRegistry


@dataclass(frozen=True)
class TrainedVersion:
    model: TrainedModel
    promotion: PromotionDecision


def train_job(job: Job, settings: Settings, stores: Stores, control: JobControl) -> TrainedVersion:
    """Train (or resume) a job; raises a `JobInterrupted` if it must stop before the end."""
    params = TrainParams.model_validate(job.params)
    dataset = stores.datasets.get_dataset(params.dataset)
    require_ready(dataset)  # as POST /train does: a guard for jobs queued any other way
    arrays = load_dataset_arrays(dataset, settings)
    size_warning = get_architecture(params.model).sizes.warning(*arrays.image_shape[:2])
    if size_warning:
        job_logger("worker", job.id).warning(
            size_warning, extra={"image_shape": list(arrays.image_shape)}
        )
    distribution = get_distribution(settings.cpu_replicas, settings.xla_cache_dir)
    stores.jobs.record_devices(job.id, distribution.devices, distribution.replicas)
    batch_size = replica_batch_size(params.batch_size, distribution.replicas)
    if batch_size != params.batch_size:
        job_logger("worker", job.id).warning(
            "batch size rounded up to divide over the replicas",
            extra={"asked": params.batch_size, "trained": batch_size},
        )
    reporter = ProgressReporter(
        stores.jobs, job.id, params.epochs, batch_size, settings.intervals.progress_seconds
    )
    checkpoints = settings.job_dir(job.id) / "checkpoints"

    def resume(epoch: int) -> None:
        job_logger("worker", job.id).info("resuming", extra={"from_epoch": epoch})
        stores.jobs.discard_epochs_after(job.id, epoch)

    outcome = fit_and_evaluate(
        params,
        arrays,
        distribution,
        [
            reporter,
            InterruptOnRequest(control),
            *tensorboard_logging(settings.job_dir(job.id), job.id),
        ],
        checkpoint_dir=checkpoints,
        on_resume=resume,
    )
    stores.jobs.record_runtime(job.id, outcome.runtime)
    saved = save_trained_model(
        outcome.model,
        settings.models_dir,
        {
            "job_id": job.id,
            "dataset_id": dataset.id,
            "architecture": params.model,
            "class_names": arrays.class_names,
            "input_shape": list(arrays.image_shape),
            "params": params.model_dump(),
            "metrics": {
                "test_accuracy": outcome.test_accuracy,
                "test_loss": outcome.test_loss,
                **confusion_metrics(outcome.test_confusion, arrays.class_names),
                "replicas": distribution.replicas,
                **outcome.runtime,
            },
        },
    )
    saved.warning = chance_warning(outcome.test_accuracy, len(arrays.class_names))
    model = stores.registry.add_version(saved, params.model_name)
    shutil.rmtree(checkpoints, ignore_errors=True)  # the saved model supersedes them
    decision = promote_new_version(
        stores.registry, model, params.promotion, params.promotion_margin
    )
    job_logger("worker", job.id).info(
        f"version {model.version} of {model.name!r} "
        + ("promoted to production" if decision.promoted else "not promoted")
        + f": {decision.reason}",
        extra={"model_id": model.id, "promotion": decision.to_record(), "warning": model.warning},
    )
    return TrainedVersion(model, decision)
