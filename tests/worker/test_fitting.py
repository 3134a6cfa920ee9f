"""The shared training path with the fast recipe's options, on real CIFAR-10 images."""

import numpy as np
import pytest

from core.datasets.archives import ArchiveLimits
from core.datasets.image_folder import import_image_folder_archive
from core.schemas import TrainRequest
from worker.distribution import get_distribution
from worker.evaluation import evaluate
from worker.fitting import fit_and_evaluate, split_validation

pytestmark = pytest.mark.slow


@pytest.fixture
def arrays(make_archive):
    archive = make_archive(["airplane", "cat", "ship"], train_per_class=40, test_per_class=10)
    limits = ArchiveLimits(10_000, 10**8, 10**7)
    return import_image_folder_archive(archive, limits, 10**6, 64).arrays


def test_airbench_recipe_trains_with_augmentation_tta_and_reports_timings(arrays):
    params = TrainRequest(model="airbench", epochs=2, batch_size=32, seed=5).resolve(seed=0)
    assert (params.flip, params.translate, params.tta) == (True, 2, True)

    outcome = fit_and_evaluate(params, arrays, get_distribution(0))

    runtime = outcome.runtime
    assert runtime["backend"] == "tensorflow"
    assert runtime["dtype_policy"] == "float32"  # "auto" is float32 without a GPU
    assert runtime["compile_seconds"] > 0 and runtime["training_seconds"] > 0
    assert runtime["images_per_second"] > 0
    assert 0 <= outcome.test_accuracy <= 1 and outcome.test_loss > 0
    assert outcome.model.get_layer("augment").pixels == 2


def test_explicit_options_are_applied_and_reported(arrays):
    request = TrainRequest(
        model="seed_cnn",
        epochs=1,
        batch_size=16,
        mixed_precision="bfloat16",
        jit_compile="off",
        steps_per_execution=4,
        seed=1,
    )

    outcome = fit_and_evaluate(request.resolve(seed=0), arrays, get_distribution(0))

    runtime = outcome.runtime
    assert runtime["dtype_policy"] == "mixed_bfloat16"
    assert runtime["jit_compile"] is False and runtime["steps_per_execution"] == 4
    assert outcome.model.get_layer("logits").compute_dtype == "bfloat16"


def test_flip_tta_averages_logits_of_image_and_mirror():
    import keras

    # Logits that are just the left and right halves' mean brightness: a mirror swaps them.
    inputs = keras.Input((2, 2, 1))
    halves = keras.layers.Lambda(
        lambda x: keras.ops.stack(
            [keras.ops.mean(x[:, :, 0, 0], axis=1), keras.ops.mean(x[:, :, 1, 0], axis=1)], axis=1
        )
    )(inputs)
    model = keras.Model(inputs, halves)
    x = np.array([[[[1.0], [0.0]], [[1.0], [0.0]]]], dtype="float32")  # bright on the left

    plain = evaluate(model, x, np.array([0]), tta=False)
    tta = evaluate(model, x, np.array([0]), tta=True)

    assert plain.accuracy == 1.0
    assert tta.loss == pytest.approx(np.log(2))  # averaged logits are equal: 50/50
    assert tta.accuracy == 1.0  # argmax of a tie picks the first class
    assert tta.confusion.tolist() == [[1, 0], [0, 0]]  # the same prediction as the accuracy


def test_airbench_tricks_whitening_bn_bias_rate_and_ema_train_together(arrays):
    from models.airbench import CIFAR10_MEAN, CIFAR10_STD
    from models.whitening import whitening_kernel

    request = TrainRequest(
        model="airbench",
        epochs=1,
        batch_size=32,
        seed=5,
        whiten_init=True,
        bn_bias_lr_scale=16,
        ema_momentum=0.9,
    )

    outcome = fit_and_evaluate(request.resolve(seed=0), arrays, get_distribution(0))

    x_train = arrays.x_train[split_validation(arrays, request.resolve(seed=0)).train]
    normalized = (x_train.astype(np.float64) - CIFAR10_MEAN) / CIFAR10_STD
    whiten = outcome.model.get_layer("airbench").get_layer("whiten")
    # Set from the training images, then left alone by training.
    assert keras_numpy(whiten.kernel) == pytest.approx(
        whitening_kernel(normalized, 2), rel=1e-3, abs=1e-3
    )
    assert not whiten.kernel.trainable and whiten.bias.trainable
    assert outcome.model.optimizer.use_ema
    assert 0 <= outcome.test_accuracy <= 1


def keras_numpy(variable):
    import keras

    return keras.ops.convert_to_numpy(variable)


def test_shift_tta_averages_in_the_images_shifted_each_way_with_reflected_edges():
    import keras

    # Logits that are two pixels: a corner (whose shifted value comes from a reflection) and an
    # inner one.
    inputs = keras.Input((4, 4, 1))
    pixels = keras.layers.Lambda(lambda x: keras.ops.stack([x[:, 0, 0, 0], x[:, 1, 2, 0]], axis=1))(
        inputs
    )
    model = keras.Model(inputs, pixels)
    image = [[0, 1, 2, 3], [4, 9, 6, 7], [8, 5, 10, 11], [12, 13, 14, 15]]
    x = np.array(image, dtype="float32").reshape(1, 4, 4, 1)

    shifted = evaluate(model, x, np.array([0]), tta=False, tta_shift=1)

    # Plain logits [0, 6]; shifted up-left [9, 11]; shifted down-right [9, 1], its corner
    # reflected from pixel (1, 1). Averaged: ([0, 6] + ([9, 11] + [9, 1]) / 2) / 2 = [4.5, 6].
    assert shifted.loss == pytest.approx(np.log1p(np.exp(1.5)))
    assert shifted.accuracy == 0.0 and shifted.confusion.tolist() == [[0, 1], [0, 0]]
    assert evaluate(model, x, np.array([0]), tta=False).loss == pytest.approx(np.log1p(np.exp(6)))
