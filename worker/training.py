"""Training one job: load its data, build and fit the network, evaluate, save."""

import time
from dataclasses import dataclass

import keras
import numpy as np

from core.dataset_store import DatasetStore
from core.datasets.arrays import DatasetArrays
from core.datasets.loading import load_dataset_arrays
from core.job_store import JobStore
from core.model_store import ModelStore
from core.schemas import TrainParams
from core.settings import Settings
from core.tables import Job, TrainedModel
from models import get_architecture
from worker.optimizers import make_optimizer
from worker.progress import ProgressReporter
from worker.saving import save_trained_model
from worker.strategy import get_distribution

EVALUATION_BATCH = 256


@dataclass
class Stores:
    jobs: JobStore
    models: ModelStore
    datasets: DatasetStore


def train_job(job: Job, settings: Settings, stores: Stores) -> TrainedModel:
    params = TrainParams.model_validate(job.params)
    dataset = stores.datasets.get_dataset(params.dataset)
    arrays = load_dataset_arrays(dataset, settings)
    distribution = get_distribution(settings.cpu_replicas)
    stores.jobs.record_devices(job.id, distribution.devices, distribution.replicas)

    keras.utils.set_random_seed(params.seed)
    x_train, y_train, x_val, y_val = _split_validation(arrays, params)
    with distribution.strategy.scope():
        model = get_architecture(params.model).build(arrays.image_shape, len(arrays.class_names))
        model.compile(
            optimizer=make_optimizer(params.optimizer, params.learning_rate),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
    reporter = ProgressReporter(
        stores.jobs, job.id, params.epochs, params.batch_size, settings.progress_interval_seconds
    )
    started = time.monotonic()
    model.fit(
        x_train,
        y_train,
        batch_size=params.batch_size,
        epochs=params.epochs,
        validation_data=(x_val, y_val),
        shuffle=params.shuffle,
        callbacks=[reporter],
        verbose=0,
    )
    training_seconds = time.monotonic() - started
    test_loss, test_accuracy = model.evaluate(
        arrays.x_test, arrays.y_test, batch_size=EVALUATION_BATCH, verbose=0
    )
    saved = save_trained_model(
        model,
        settings.models_dir,
        {
            "job_id": job.id,
            "dataset_id": dataset.id,
            "architecture": params.model,
            "class_names": arrays.class_names,
            "input_shape": list(arrays.image_shape),
            "params": params.model_dump(),
            "metrics": {
                "test_accuracy": float(test_accuracy),
                "test_loss": float(test_loss),
                "training_seconds": training_seconds,
                "replicas": distribution.replicas,
            },
        },
    )
    return stores.models.add_model(saved)


def _split_validation(
    arrays: DatasetArrays, params: TrainParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hold out a seeded share of train for validation; with none, validate on test."""
    if params.validation_split == 0:
        return arrays.x_train, arrays.y_train, arrays.x_test, arrays.y_test
    order = np.random.default_rng(params.seed).permutation(len(arrays.y_train))
    held = max(1, int(len(order) * params.validation_split))
    val, train = order[:held], order[held:]
    return arrays.x_train[train], arrays.y_train[train], arrays.x_train[val], arrays.y_train[val]
