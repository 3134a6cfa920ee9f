"""TensorFlow's process-wide options, which it reads from the environment once, when it is first
imported: every entry point applies them before anything imports Keras, and a value the user
set in the environment wins."""

import os

DEFAULTS = {
    # C++ start-up notes (no CUDA driver, CPU features) are noise in a service's log.
    "TF_CPP_MIN_LOG_LEVEL": "2",
    # oneDNN's CPU kernels. On Linux, TensorFlow turns them on by itself only on CPUs with
    # neural-network instructions (AVX512_VNNI, AVX512_BF16, AVX_VNNI, AMX); on a 2-core AMD
    # EPYC without them, they trained quick_cnn 12-21 % faster and raised the 32-image
    # prediction load from about 2,550 to 2,860-3,160 images/s.
    "TF_ENABLE_ONEDNN_OPTS": "1",
}


def apply_tensorflow_defaults() -> None:
    """Set each of `DEFAULTS` that the environment does not already set."""
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
