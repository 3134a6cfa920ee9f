"""Training at photo sizes: quick_cnn's recipe learns on images upscaled to 128 pixels, with
random resized crops, over two replicas on either backend."""

import pytest

from tests.scripts import run_script

pytestmark = pytest.mark.slow

LEARN_AT_128_PIXELS = """
import json
import numpy as np
from core.datasets.arrays import DatasetArrays
from core.schemas import TrainRequest
from worker.distribution import get_distribution
from worker.fitting import fit_and_evaluate

def patterns(count, seed):
    # Four classes of 16-pixel patterns in random colours and phases (flat, horizontal stripes,
    # vertical stripes, checks), with noise, upscaled 8 times.
    rng = np.random.default_rng(seed)
    labels = (np.arange(count) % 4).astype(np.int32)
    rows, cols = np.mgrid[:16, :16]
    images = []
    for label in labels:
        y, x = (rows + rng.integers(4)) // 2 % 2, (cols + rng.integers(4)) // 2 % 2
        pattern = [np.full((16, 16), 0.5), y, x, (y + x) % 2][label]
        low, high = rng.uniform(0, 255, (2, 3))
        image = low + (high - low) * pattern[:, :, None] + rng.normal(0, 20, (16, 16, 3))
        images.append(np.clip(image, 0, 255).astype(np.uint8).repeat(8, 0).repeat(8, 1))
    return np.stack(images), labels

x_train, y_train = patterns(320, 0)
x_test, y_test = patterns(80, 1)
arrays = DatasetArrays(x_train, y_train, x_test, y_test, ["flat", "rows", "columns", "checks"])
request = TrainRequest(
    model="quick_cnn", epochs=6, batch_size=32, random_resized_crop="auto", seed=3
)
params = request.resolve(seed=0)
outcome = fit_and_evaluate(params, arrays, get_distribution(2))
print(json.dumps({
    "accuracy": outcome.test_accuracy,
    "replicas": get_distribution(2).replicas,
    "layers": [layer.name for layer in outcome.model.layers],
}))
"""


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_quick_cnn_learns_at_128_pixels_with_random_resized_crops(backend):
    result = run_script(LEARN_AT_128_PIXELS, KERAS_BACKEND=backend, CPU_REPLICAS="2")

    assert result["replicas"] == 2
    assert "crop" in result["layers"] and "augment" in result["layers"]
    assert result["accuracy"] > 0.5  # chance: 0.25
