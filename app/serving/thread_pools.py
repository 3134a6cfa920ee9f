"""The sizes of TensorFlow's CPU thread pools in a serving process. TensorFlow fixes them when it
runs its first operation, for the life of the process, so they are set before a model loads.

Its own choice, a thread per core in each pool, suits one large computation. A serving process
runs small batches beside its event loop and decoders: on a small CPU, with one thread in each
pool, requests took less of the server's CPU time and were answered faster
(docs/performance.md).
"""

import logging
import os
from dataclasses import dataclass

from core.settings import Settings

log = logging.getLogger("app.serving.thread_pools")


@dataclass(frozen=True)
class ThreadPools:
    intra_op: int | None  # threads for the work within one operation; None: TensorFlow's choice
    inter_op: int | None  # threads for operations run side by side; None: TensorFlow's choice


def serving_thread_pools(settings: Settings, cpus: int, has_gpu: bool) -> ThreadPools:
    """The pools the settings name. Otherwise, without a GPU, each batch in flight gets its share
    of the CPUs within an operation, and operations run one after another. With a GPU, where
    the model's work is not on these threads and other sizes were not measured, TensorFlow
    chooses."""
    intra_op = settings.prediction.intra_op_threads
    inter_op = settings.prediction.inter_op_threads
    if not has_gpu:
        intra_op = intra_op or max(1, cpus // settings.prediction.batches_in_flight)
        inter_op = inter_op or 1
    return ThreadPools(intra_op, inter_op)


def size_thread_pools_for_serving(settings: Settings) -> None:
    """Size TensorFlow's pools, if it has not started yet in this process (it keeps them)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    # The CPUs this process may run on: a container's or a pinned process's, not the machine's.
    pools = serving_thread_pools(settings, len(os.sched_getaffinity(0)), has_gpu)
    threading = tf.config.threading
    wanted = (pools.intra_op, pools.inter_op)
    if wanted == (
        threading.get_intra_op_parallelism_threads() or None,
        threading.get_inter_op_parallelism_threads() or None,
    ):
        return
    try:
        if pools.intra_op is not None:
            threading.set_intra_op_parallelism_threads(pools.intra_op)
        if pools.inter_op is not None:
            threading.set_inter_op_parallelism_threads(pools.inter_op)
    except RuntimeError:  # TensorFlow has run already (a model loaded by other code)
        log.warning("TensorFlow had started already: its thread pools keep their sizes")
        return
    log.info(
        "TensorFlow thread pools sized for serving",
        extra={"intra_op_threads": pools.intra_op, "inter_op_threads": pools.inter_op},
    )
