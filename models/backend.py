"""The backend set-up of every process that builds, trains or runs these networks.

TensorFlow reads its process-wide options from the environment once, when it is first
imported: every entry point applies them before anything imports Keras, and a value the user
set in the environment wins. Keras is imported only inside the functions that need it, so the
app can list the architectures without loading a backend.
"""

import contextlib
import os

DEFAULTS = {
    # C++ start-up notes (no CUDA driver, CPU features) are noise in a service's log.
    "TF_CPP_MIN_LOG_LEVEL": "2",
    # oneDNN's CPU kernels. On Linux, TensorFlow turns them on by itself only on CPUs with
    # neural-network instructions (AVX512_VNNI, AVX512_BF16, AVX_VNNI, AMX); on CPUs without
    # them they still trained and served faster (docs/performance.md).
    "TF_ENABLE_ONEDNN_OPTS": "1",
}


def apply_tensorflow_defaults() -> None:
    """Set each of `DEFAULTS` that the environment does not already set."""
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)


def enable_gpu_memory_growth() -> None:
    """Let processes share a GPU: TensorFlow otherwise takes all of its memory at start."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        # RuntimeError: the GPU is already initialised, with its setting fixed.
        with contextlib.suppress(RuntimeError):
            tf.config.experimental.set_memory_growth(gpu, True)
