"""The worker on Keras' JAX backend, with two CPU devices under keras.distribution.DataParallel:
the path that trains on GPU machines that have JAX but no TensorFlow."""

import os
import subprocess
import sys

import pytest

from core.dataset_store import DatasetStore
from core.datasets.registration import register_dataset_archive
from core.job_store import JobStore
from core.model_store import ModelStore
from core.schemas import TrainRequest
from tests.samples import REPO_ROOT

pytestmark = pytest.mark.slow


def test_worker_trains_on_jax_with_two_replicas(settings, sessions, make_archive):
    archive = make_archive(["airplane", "cat", "ship"], train_per_class=40, test_per_class=10)
    dataset = register_dataset_archive(
        archive, "a.tar.gz", None, None, settings, DatasetStore(sessions)
    )
    jobs = JobStore(sessions)
    request = TrainRequest(dataset=dataset.id, model="airbench", epochs=2, batch_size=32, seed=2)
    job_id = jobs.create_job(request.resolve(seed=0)).id
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "CPU_REPLICAS": "2",
        "DATA_DIR": str(settings.data_dir),
    }

    subprocess.run(
        [sys.executable, "-m", "worker", "--burst"], cwd=REPO_ROOT, env=env, check=True, timeout=600
    )

    job = jobs.get_job(job_id)
    assert job.status == "succeeded", job.error_message
    assert job.replicas == 2 and all("cpu" in device.lower() for device in job.devices)
    assert job.runtime["backend"] == "jax"
    assert [epoch.epoch for epoch in job.history] == [1, 2]
    model = ModelStore(sessions).get_model(job.model_id)
    assert model.metrics["backend"] == "jax" and model.metrics["replicas"] == 2
    # Compiled steps persist for the next job of the same shapes.
    assert any(settings.xla_cache_dir.iterdir())
