"""Giving back, after a job, the memory that training took, so an idle worker is small again."""

import ctypes
import ctypes.util
import gc

import keras


def release_training_memory() -> None:
    """Keras' global state (what it holds of the last model), then unreachable Python objects,
    then the C heap's free pages, which glibc otherwise keeps for the process's next use."""
    # Clearing the session forgets the JAX backend's distribution too: it is set again.
    distribution = keras.distribution.distribution()
    keras.backend.clear_session(free_memory=True)
    if distribution is not None:
        keras.distribution.set_distribution(distribution)
    gc.collect()
    _trim_c_heap()


def _trim_c_heap() -> None:
    library = ctypes.util.find_library("c")
    if library is None:
        return
    libc = ctypes.CDLL(library)
    trim = getattr(libc, "malloc_trim", None)  # glibc's alone; musl and others have none
    if trim is not None:
        trim(0)
