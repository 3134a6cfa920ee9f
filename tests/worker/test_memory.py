"""Giving memory back between jobs leaves the worker able to train the next one as it did the
first, over the same replicas, on both backends."""

import pytest

from tests.scripts import run_script

pytestmark = pytest.mark.slow

TWO_JOBS = """
import json, sys
from pathlib import Path
import keras
from core.datasets.archives import ArchiveLimits
from core.datasets.image_folder import import_image_folder_archive
from core.schemas import TrainRequest
from worker.distribution import get_distribution
from worker.fitting import fit_and_evaluate
from worker.memory import release_training_memory

limits = ArchiveLimits(10_000, 10**8, 10**7)
arrays = import_image_folder_archive(Path(sys.argv[1]), limits, 10**6, 64).arrays
params = TrainRequest(model="seed_cnn", epochs=1, batch_size=16, seed=2).resolve(seed=0)
distribution = get_distribution(2)
losses = []
for job in range(2):
    losses.append(fit_and_evaluate(params, arrays, distribution).test_loss)
    release_training_memory()
jax_distribution = keras.distribution.distribution() if keras.backend.backend() == "jax" else None
print(json.dumps({"losses": losses, "replicas": distribution.replicas,
                  "jax_devices": None if jax_distribution is None
                  else len(jax_distribution.device_mesh.devices.flatten())}))
"""


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_a_job_after_the_memory_is_given_back_trains_as_the_first_did(backend, make_archive):
    archive = make_archive(["airplane", "cat", "ship"], train_per_class=20, test_per_class=6)

    result = run_script(TWO_JOBS, str(archive), KERAS_BACKEND=backend, CPU_REPLICAS="2")

    assert result["replicas"] == 2
    assert result["losses"][1] == pytest.approx(result["losses"][0], rel=1e-4)
    if backend == "jax":
        assert result["jax_devices"] == 2  # DataParallel survives clearing Keras' session
