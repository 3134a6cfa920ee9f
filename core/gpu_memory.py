"""Let processes share a GPU: TensorFlow otherwise takes all of its memory at start."""

import contextlib

import keras


def enable_gpu_memory_growth() -> None:
    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        # RuntimeError: the GPU is already initialised, with its setting fixed.
        with contextlib.suppress(RuntimeError):
            tf.config.experimental.set_memory_growth(gpu, True)
