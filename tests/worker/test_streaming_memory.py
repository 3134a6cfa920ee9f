"""Training on a memory-mapped dataset larger than what the process may take: it streams."""

import pytest

from tests.scripts import run_script

pytestmark = pytest.mark.slow

# A network that barely computes (it averages 16 x 16 blocks away at once), so the process's
# memory is what the data takes; its peak anonymous memory (not the mapped file's pages, which
# the kernel may drop at will) is sampled while it trains.
STREAMED_FIT = """
import json, sys, threading
from pathlib import Path

import numpy as np
from numpy.lib.format import open_memmap

from core.datasets.arrays import DatasetArrays
from core.schemas import TrainRequest
from devkit.processes import rss_anon
from models import ARCHITECTURES, Architecture
from models.input_sizes import InputSizes
from models.recipe import Recipe
from worker.distribution import get_distribution
from worker.fitting import fit_and_evaluate


def build_tiny(input_shape, num_classes):
    import keras

    inputs = keras.Input(shape=input_shape, name="pixels")
    x = keras.layers.AveragePooling2D(16)(keras.layers.Rescaling(1 / 255)(inputs))
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    logits = keras.layers.Dense(num_classes)(keras.layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, logits)


def memmap(name, count, side):
    path = folder / f"{name}.npy"
    images = open_memmap(path, mode="w+", dtype=np.uint8, shape=(count, side, side, 3))
    block = np.random.default_rng(0).integers(0, 256, (64, side, side, 3), dtype=np.uint8)
    for start in range(0, count, 64):
        images[start : start + 64] = block[: count - start]
    images.flush()
    del images
    return np.load(path, mmap_mode="r")


folder, train_count, test_count, side = Path(sys.argv[1]), *map(int, sys.argv[2:5])
labels = lambda count: np.arange(count, dtype=np.int32) % 4
arrays = DatasetArrays(
    memmap("x_train", train_count, side), labels(train_count),
    memmap("x_test", test_count, side), labels(test_count), ["a", "b", "c", "d"],
)
recipe = Recipe(epochs=1, batch_size=32, learning_rate=0.01, optimizer="sgd")
ARCHITECTURES["tiny"] = Architecture("tiny", "", build_tiny, recipe, InputSizes(512, 1, 1024, 32))
request = TrainRequest(model="tiny", tta=True, tta_shift=1, seed=1)
distribution = get_distribution(0)
idle, peak, done = rss_anon(), 0, threading.Event()

def sample():
    global peak
    while not done.wait(0.005):
        peak = max(peak, rss_anon())

sampler = threading.Thread(target=sample)
sampler.start()
outcome = fit_and_evaluate(request.resolve(seed=0), arrays, distribution)
done.set()
sampler.join()
print(json.dumps({
    "dataset": arrays.x_train.nbytes + arrays.x_test.nbytes, "idle": idle, "peak": peak,
    "tested": int(outcome.test_confusion.sum()),
    "memmaps": isinstance(arrays.x_train, np.memmap) and isinstance(arrays.x_test, np.memmap),
}))
"""


def test_training_streams_a_dataset_larger_than_the_memory_it_takes(tmp_path):
    # 1,900 + 100 images of 512 x 512: 1.6 GB of pixels on disk.
    result = run_script(STREAMED_FIT, str(tmp_path), "1900", "100", "512")

    assert result["memmaps"] and result["tested"] == 100
    grown = result["peak"] - result["idle"]
    # A few batches, the network's tensors and TensorFlow's pool of them: about 0.5 GB, whatever
    # the dataset's size. Reading the splits whole, as training once did, takes more than it.
    assert grown < result["dataset"] / 2, f"{grown / 2**20:.0f} MiB while training"
