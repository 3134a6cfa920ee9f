import keras
import numpy as np
import pytest

from core.schemas import TrainRequest
from tests.scripts import run_script
from worker.optimizers import batch_norm_biases, make_optimizer

ONE_STEP_EACH = """
import json
from tests.worker.test_optimizers import _one_step
steps = {scale: _one_step(scale) for scale in (1.0, 8.0)}
print(json.dumps({scale: {path: step.tolist() for path, step in by_path.items()}
                  for scale, by_path in steps.items()}))
"""


def _bn_model() -> keras.Model:
    inputs = keras.Input((4,))
    x = keras.layers.Dense(3, name="dense")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    return keras.Model(inputs, keras.layers.Dense(2, name="out")(x))


def _one_step(scale: float) -> dict[str, np.ndarray]:
    keras.utils.set_random_seed(0)
    model = _bn_model()
    params = TrainRequest(
        model="airbench", optimizer="sgd", bn_bias_lr_scale=scale, momentum=0, weight_decay=0
    ).resolve(seed=0)
    params = params.model_copy(update={"lr_schedule": "constant", "learning_rate": 0.1})
    model.compile(optimizer=make_optimizer(params, 10, model), loss="mse")
    before = {v.path: keras.ops.convert_to_numpy(v) for v in model.trainable_variables}
    model.train_on_batch(np.ones((8, 4)), np.arange(16, dtype="float32").reshape(8, 2))
    return {
        v.path: keras.ops.convert_to_numpy(v) - before[v.path] for v in model.trainable_variables
    }


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_batch_norm_biases_take_scaled_steps_and_the_rest_plain_ones(backend):
    steps = run_script(ONE_STEP_EACH, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    plain, scaled = (
        {path: np.array(step) for path, step in steps[scale].items()} for scale in ("1.0", "8.0")
    )

    (bias,) = (path for path in plain if path.endswith("bn/beta"))
    assert scaled[bias] == pytest.approx(8 * plain[bias])
    for path in plain:
        if path != bias:
            assert scaled[path] == pytest.approx(plain[path])


def test_batch_norm_biases_are_found_in_nested_models():
    outer_input = keras.Input((4,))
    outer = keras.Model(outer_input, _bn_model()(outer_input))

    assert [v.path for v in batch_norm_biases(outer)] == ["bn/beta"]


def test_bn_bias_scale_is_refused_for_other_optimizers():
    with pytest.raises(ValueError, match="sgd optimizer only"):
        TrainRequest(model="seed_cnn", bn_bias_lr_scale=4)
