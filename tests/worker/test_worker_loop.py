"""The worker, in this process, training real (tiny) jobs on real CIFAR-10 images."""

import json
from pathlib import Path

import numpy as np
import pytest

from core.datasets.loading import dataset_arrays_dir
from core.datasets.store import DatasetStore
from core.job_store import JobStore
from core.logs import read_job_log
from core.model_registry import ModelRegistry
from core.model_store import ModelStore
from core.promotion import chance_warning
from core.schemas import TrainRequest
from core.status import JobStatus
from devkit.datasets import add_ready_dataset
from worker.loop import run_worker

pytestmark = pytest.mark.slow


@pytest.fixture
def dataset(settings, sessions, make_archive):
    archive = make_archive(["airplane", "cat", "ship"], train_per_class=40, test_per_class=10)
    return add_ready_dataset(settings, archive, "sample")


def _queue(job_store: JobStore, dataset_id: str, **overrides) -> str:
    values = {"dataset": dataset_id, "epochs": 2, "batch_size": 16, "seed": 3, **overrides}
    request = TrainRequest.model_validate(values)
    return job_store.create_job(request.resolve(seed=0)).id


def test_worker_trains_saves_and_goes_on_after_a_failure(settings, sessions, dataset, job_store):
    broken = DatasetStore(sessions).add_dataset(
        type(dataset)(**{**_columns(dataset), "id": "gone", "name": "arrays deleted"})
    )
    failing_id = _queue(job_store, broken.id)
    good_id = _queue(job_store, dataset.id)

    jobs_run = run_worker(settings, burst=True)

    assert jobs_run == 2
    failed = job_store.get_job(failing_id)
    assert failed.status == JobStatus.FAILED
    assert failed.error_type == "FileNotFoundError"
    assert str(dataset_arrays_dir(settings, "gone")) in (failed.error_message or "")

    job = job_store.get_job(good_id)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert [e.epoch for e in job.history] == [1, 2]
    for epoch in job.history:
        assert epoch.loss is not None and 0 <= epoch.accuracy <= 1
        assert epoch.val_loss is not None and 0 <= epoch.val_accuracy <= 1
        assert epoch.seconds > 0
    assert job.progress["fraction"] == 1.0 and job.progress["epoch"] == 2
    assert job.progress["step"] == job.progress["steps"] == 7  # ceil(108 / 16)
    assert job.replicas == 1 and job.devices and "CPU" in job.devices[0].upper()
    assert 0 <= job.test_accuracy <= 1 and job.test_loss > 0

    model = ModelStore(sessions).get_model(job.model_id)
    assert model.job_id == job.id and model.dataset_id == dataset.id
    assert model.class_names == ["airplane", "cat", "ship"]
    assert model.input_shape == [32, 32, 3]
    assert model.metrics["test_accuracy"] == pytest.approx(job.test_accuracy)
    assert model.params["epochs"] == 2 and model.params["seed"] == 3
    metadata = json.loads((Path(model.path).parent / "metadata.json").read_text())
    assert metadata["class_names"] == model.class_names
    assert metadata["preprocessing"]["scaling"].startswith("inside the model")


def test_saved_model_takes_raw_pixels(settings, sessions, dataset, job_store):
    import keras

    import models.layers  # noqa: F401  registers the custom objects the saved model uses

    job_id = _queue(job_store, dataset.id, epochs=1)
    run_worker(settings, burst=True)
    model = ModelStore(sessions).get_model(job_store.get_job(job_id).model_id)

    loaded = keras.saving.load_model(model.path, safe_mode=True)
    pixels = np.full((2, 32, 32, 3), 255, dtype=np.float32)

    assert keras.ops.convert_to_numpy(loaded(pixels)).shape == (2, 3)
    assert loaded.layers[1].name == "scale_to_unit"


def test_a_succeeded_job_records_its_promotion_and_warning(settings, sessions, dataset, job_store):
    first_id = _queue(job_store, dataset.id, epochs=1, model_name="tiny")
    second_id = _queue(job_store, dataset.id, epochs=1, model_name="tiny", promotion="never")

    assert run_worker(settings, burst=True) == 2

    first, second = job_store.get_job(first_id), job_store.get_job(second_id)
    assert first.status == second.status == JobStatus.SUCCEEDED
    registry = ModelRegistry(sessions)
    model = registry.get_version("tiny", 1)
    assert model.id == first.model_id and registry.get_version("tiny", 2).id == second.model_id
    # The chance guard: a 1-epoch job may well be at chance on 3 classes; either way it says so.
    assert first.warning == model.warning == chance_warning(first.test_accuracy, 3)
    assert first.promotion is not None
    assert first.promotion["promoted"] is (first.warning is None)
    assert first.promotion["candidate"]["model_id"] == first.model_id
    assert first.promotion["incumbent"] is None
    assert second.promotion == {
        **second.promotion,
        "promoted": False,
        "reason": "The job's promotion policy is `never`.",
    }
    expected = {"production": 1} if first.promotion["promoted"] else {}
    assert registry.aliases_of("tiny") == expected
    records, _ = read_job_log(settings.job_dir(first_id), 0, 1000)
    (logged,) = [r for r in records if "promotion" in r]
    assert logged["promotion"] == first.promotion and logged["model_id"] == first.model_id


def _columns(record) -> dict:
    return {c.key: getattr(record, c.key) for c in record.__table__.columns}


def test_a_job_on_images_outside_the_networks_sizes_trains_with_a_warning_in_its_log(
    settings, sessions, make_archive, job_store
):
    archive = make_archive(["airplane", "cat"], train_per_class=10, test_per_class=4)
    small = add_ready_dataset(settings, archive, "small", (20, 20))
    job_id = _queue(job_store, small.id, model="quick_cnn", epochs=1)

    run_worker(settings, burst=True)

    assert job_store.get_job(job_id).status == JobStatus.SUCCEEDED
    records, _ = read_job_log(settings.job_dir(job_id), 0, 1000)
    warnings = [r for r in records if r.get("level") == "WARNING"]
    assert any("20x20" in r["message"] and "24-256 px" in r["message"] for r in warnings)
