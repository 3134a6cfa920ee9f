"""The worker on Keras' JAX backend, with two CPU devices under keras.distribution.DataParallel:
the path that trains on GPU machines that have JAX but no TensorFlow."""

import os
import subprocess
import sys

import pytest

from core.job_store import JobStore
from core.model_store import ModelStore
from core.schemas import TrainRequest
from devkit.datasets import add_ready_dataset
from devkit.samples import REPO_ROOT
from tests.scripts import run_script

pytestmark = pytest.mark.slow

# Makes TensorFlow unimportable, as on the GPU machines, in every interpreter that starts with
# its folder on PYTHONPATH (Python imports `sitecustomize` at start-up): the worker and the
# training processes it starts.
NO_TENSORFLOW = """
import sys

class NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "tensorflow":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NoTensorFlow())
"""


def test_worker_trains_on_jax_with_two_replicas(settings, sessions, make_archive, tmp_path):
    archive = make_archive(["airplane", "cat", "ship"], train_per_class=40, test_per_class=10)
    dataset = add_ready_dataset(settings, archive)
    jobs = JobStore(sessions)
    request = TrainRequest(dataset=dataset.id, model="airbench", epochs=2, batch_size=32, seed=2)
    job_id = jobs.create_job(request.resolve(seed=0)).id
    no_tensorflow = tmp_path / "no-tensorflow"
    no_tensorflow.mkdir()
    (no_tensorflow / "sitecustomize.py").write_text(NO_TENSORFLOW)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(no_tensorflow), os.environ.get("PYTHONPATH")])
        ),
        "KERAS_BACKEND": "jax",
        "CPU_REPLICAS": "2",
        "DATA_DIR": str(settings.data_dir),
    }

    subprocess.run(
        [sys.executable, "-m", "worker", "--burst"],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        timeout=600,
    )

    job = jobs.get_job(job_id)
    assert job.status == "succeeded", job.error_message
    assert job.devices is not None and job.runtime is not None and job.model_id is not None
    assert job.replicas == 2 and all("cpu" in device.lower() for device in job.devices)
    assert job.runtime["backend"] == "jax"
    assert [epoch.epoch for epoch in job.history] == [1, 2]
    model = ModelStore(sessions).get_model(job.model_id)
    assert model.metrics["backend"] == "jax" and model.metrics["replicas"] == 2
    # Compiled steps persist for the next job of the same shapes.
    assert any(settings.xla_cache_dir.iterdir())
    # Without TensorFlow there are no TensorBoard logs, and the job's log says why, once.
    assert not (settings.job_dir(job_id) / "tensorboard").exists()
    job_log = (settings.job_dir(job_id) / "log.jsonl").read_text()
    assert job_log.count("no TensorBoard logs for this job: tensorflow is not installed") == 1


RESUME_ON_JAX = """
import json, sys
from pathlib import Path
from core.datasets.archives import ArchiveLimits
from core.datasets.image_folder import import_image_folder_archive
from core.schemas import TrainRequest
from worker.distribution import get_distribution
from worker.fitting import fit_and_evaluate

archive, checkpoints = Path(sys.argv[1]), Path(sys.argv[2])
distribution = get_distribution(2)
arrays = import_image_folder_archive(archive, ArchiveLimits(10_000, 10**8, 10**7), 10**6, 64).arrays
def params(epochs):
    request = TrainRequest(model="seed_cnn", epochs=epochs, batch_size=16, seed=3)
    return request.resolve(seed=0)
whole = fit_and_evaluate(params(3), arrays, distribution)
fit_and_evaluate(params(2), arrays, distribution, checkpoint_dir=checkpoints)
resumed = fit_and_evaluate(params(3), arrays, distribution, checkpoint_dir=checkpoints)
print(json.dumps({"whole": whole.test_loss, "resumed": resumed.test_loss,
                  "from": resumed.runtime["resumed_from_epoch"],
                  "replicas": distribution.replicas}))
"""


def test_training_on_jax_resumes_from_its_checkpoint(tmp_path, make_archive):
    archive = make_archive(["airplane", "cat", "ship"], train_per_class=40, test_per_class=10)

    result = run_script(
        RESUME_ON_JAX, str(archive), str(tmp_path / "checkpoints"), KERAS_BACKEND="jax"
    )

    assert result["replicas"] == 2 and result["from"] == 2
    assert result["resumed"] == pytest.approx(result["whole"], rel=1e-4)


TRICKS_ON_JAX = """
import json, sys
from pathlib import Path
from core.datasets.archives import ArchiveLimits
from core.datasets.image_folder import import_image_folder_archive
from core.schemas import TrainRequest
from worker.distribution import get_distribution
from worker.fitting import fit_and_evaluate

limits = ArchiveLimits(10_000, 10**8, 10**7)
arrays = import_image_folder_archive(Path(sys.argv[1]), limits, 10**6, 64).arrays
request = TrainRequest(model="airbench", epochs=1, batch_size=32, seed=5, whiten_init=True,
                       bn_bias_lr_scale=16, ema_momentum=0.9)
outcome = fit_and_evaluate(request.resolve(seed=0), arrays, get_distribution(0))
whiten = outcome.model.get_layer("airbench").get_layer("whiten")
print(json.dumps({"accuracy": outcome.test_accuracy, "ema": outcome.model.optimizer.use_ema,
                  "whiten_frozen": not whiten.kernel.trainable}))
"""


def test_airbench_tricks_train_together_on_jax(make_archive):
    """As on TensorFlow (tests/worker/test_fitting.py). On JAX, the optimizer once held the
    batch-norm biases as variables of its own, and the compiled step got them twice."""
    archive = make_archive(["airplane", "cat", "ship"], train_per_class=40, test_per_class=10)

    result = run_script(TRICKS_ON_JAX, str(archive), KERAS_BACKEND="jax")

    assert result["ema"] and result["whiten_frozen"]
    assert 0 <= result["accuracy"] <= 1
