"""The compiled forward pass answers what the model itself answers, on both backends."""

import pytest

from tests.scripts import run_script

pytestmark = pytest.mark.slow

CHECK = """
import json, sys
import keras, numpy as np
from app.serving.compiled_call import compile_forward, warm_up
from models import get_architecture

model = get_architecture("seed_cnn").build((32, 32, 3), 4)
forward = compile_forward(model)
warm_up(forward, (32, 32, 3), 8)
pixels = np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
expected = keras.ops.convert_to_numpy(keras.ops.softmax(model(pixels.astype("float32"))))
got = forward(pixels)
print(json.dumps({"backend": keras.backend.backend(), "shape": list(got.shape),
                  "max_error": float(np.abs(got - expected).max()),
                  "single": float(np.abs(forward(pixels[:1]) - expected[:1]).max())}))
"""


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_compiled_forward_pass_equals_the_models_softmax(backend):
    result = run_script(CHECK, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")

    assert result["backend"] == backend
    assert result["shape"] == [5, 4]  # padded to 8 inside, 5 out
    assert result["max_error"] < 1e-5 and result["single"] < 1e-5
