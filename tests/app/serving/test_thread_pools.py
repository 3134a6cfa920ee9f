"""TensorFlow's thread pools in a serving process: sized from the settings before a model loads,
and left alone in a process where TensorFlow has already run."""

import pytest

from app.serving.thread_pools import ThreadPools, serving_thread_pools
from core.settings import Settings
from devkit.saved_models import save_untrained_model
from tests.scripts import run_script


@pytest.mark.parametrize(
    ("cpus", "in_flight", "expected"),
    [(2, 2, ThreadPools(1, 1)), (16, 2, ThreadPools(8, 1)), (2, 3, ThreadPools(1, 1))],
)
def test_without_a_gpu_each_batch_in_flight_gets_its_share_of_the_cpus(cpus, in_flight, expected):
    settings = Settings(_env_file=None, prediction={"batches_in_flight": in_flight})

    assert serving_thread_pools(settings, cpus, has_gpu=False) == expected


def test_with_a_gpu_tensorflow_chooses_unless_a_setting_says():
    default = Settings(_env_file=None)
    chosen = Settings(_env_file=None, prediction={"inter_op_threads": 4})

    assert serving_thread_pools(default, 16, has_gpu=True) == ThreadPools(None, None)
    assert serving_thread_pools(chosen, 16, has_gpu=True) == ThreadPools(None, 4)


def test_settings_win_over_the_defaults_without_a_gpu():
    settings = Settings(_env_file=None, prediction={"intra_op_threads": 3, "inter_op_threads": 2})

    assert serving_thread_pools(settings, 2, has_gpu=False) == ThreadPools(3, 2)


LOAD_AND_PREDICT = """
import json, sys
import numpy as np
from app.serving.keras_files import load_keras_model
from app.serving.compiled_call import compile_forward
from core.settings import Settings

path, first = sys.argv[1:]
if first == "tensorflow-ran-first":
    import tensorflow as tf
    tf.constant(1.0) + 1.0
settings = Settings(_env_file=None, prediction={"intra_op_threads": 3, "inter_op_threads": 2})
forward = compile_forward(load_keras_model(path, settings))
probabilities = forward(np.zeros((2, 32, 32, 3), dtype=np.uint8))
load_keras_model(path, settings)  # a second load keeps the pools as they are
import tensorflow as tf
print(json.dumps({"intra": tf.config.threading.get_intra_op_parallelism_threads(),
                  "inter": tf.config.threading.get_inter_op_parallelism_threads(),
                  "sums": probabilities.sum(axis=1).round(4).tolist()}))
"""


@pytest.mark.slow
def test_a_serving_process_runs_its_models_on_the_pools_the_settings_size(settings):
    record = save_untrained_model(settings, ["cat", "ship"])

    result = run_script(LOAD_AND_PREDICT, record.path, "fresh", KERAS_BACKEND="tensorflow")

    assert (result["intra"], result["inter"]) == (3, 2)
    assert result["sums"] == [1.0, 1.0]


@pytest.mark.slow
def test_a_process_where_tensorflow_ran_already_keeps_its_pools_and_still_serves(settings):
    record = save_untrained_model(settings, ["cat", "ship"])

    result = run_script(
        LOAD_AND_PREDICT, record.path, "tensorflow-ran-first", KERAS_BACKEND="tensorflow"
    )

    assert (result["intra"], result["inter"]) == (0, 0)  # TensorFlow's own choice
    assert result["sums"] == [1.0, 1.0]
