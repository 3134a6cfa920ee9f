"""Loading a saved `.keras` file into a process that serves it.

Keras (and so TensorFlow) is imported by the first load, not when the app starts.
"""

import gc
from functools import cache
from typing import Any

from app.serving.thread_pools import size_thread_pools_for_serving
from core.settings import Settings
from models.backend import enable_gpu_memory_growth


def load_keras_model(path: str, settings: Settings) -> Any:
    """A saved `.keras` model (uncompiled), with the project's custom layers registered, in a
    process whose TensorFlow is set up for serving."""
    import keras

    import models.layers  # noqa: F401  registers the custom layers saved models use

    enable_gpu_memory_growth()
    size_thread_pools_for_serving(settings)
    _freeze_imported_objects()
    # safe_mode refuses models that carry arbitrary code (Lambda layers).
    return keras.saving.load_model(path, compile=False, safe_mode=True)


@cache
def _freeze_imported_objects() -> None:
    """Keras and TensorFlow hold a great many objects that live as long as the process; each
    full collection walked them all, pausing every request (docs/performance.md). Frozen once,
    after their import and before any model loads, collections skip them, while models, which
    may be unloaded, stay collectable."""
    gc.collect()
    gc.freeze()
