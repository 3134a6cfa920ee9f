"""Each job's TensorBoard logs (epoch scalars), in its folder: DATA_DIR/jobs/<id>/tensorboard.

Keras' TensorBoard callback writes through `tf.summary`, whatever the backend, so a machine
without TensorFlow and TensorBoard (a JAX-only GPU machine) trains without these logs.
"""

import contextlib
from pathlib import Path

import keras

from core.logs import job_logger

LOG_FOLDER = "tensorboard"


def tensorboard_logging(job_dir: Path, job_id: str) -> list[keras.callbacks.Callback]:
    """The callback that logs the job's epochs, or none (said once in the job's log) where this
    machine cannot write TensorBoard logs."""
    missing = _missing_summary_writer()
    if missing is not None:
        job_logger("worker.tensorboard", job_id).info(
            "no TensorBoard logs for this job: %s is not installed", missing
        )
        return []
    if keras.backend.backend() != "tensorflow":
        _keep_tensorflow_off_the_gpus()
    return [epoch_tensorboard(job_dir / LOG_FOLDER)]


def epoch_tensorboard(log_dir: Path) -> keras.callbacks.TensorBoard:
    """Epoch-level scalars only (losses, metrics, learning rate): no graph, histograms, images
    or profiling. The step is the epoch, so a resumed job's epochs follow on in the same logs.
    Keras writes each epoch's inside `writer.as_default()`, which flushes them on exit: a
    stopped or killed job keeps the logs of the epochs it finished."""
    return keras.callbacks.TensorBoard(
        log_dir,
        histogram_freq=0,
        write_graph=False,
        write_images=False,
        update_freq="epoch",
        profile_batch=0,
    )


def _missing_summary_writer() -> str | None:
    """The package the callback needs that cannot be imported here, if any."""
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        return "tensorflow"
    try:
        import tensorboard  # noqa: F401  tf.summary's scalars live there
    except ImportError:
        return "tensorboard"
    return None


def _keep_tensorflow_off_the_gpus() -> None:
    """Summaries are written on the CPU; TensorFlow would otherwise claim the GPUs that JAX
    trains on. RuntimeError: TensorFlow's devices are already set up, and stay as they are."""
    import tensorflow as tf

    with contextlib.suppress(RuntimeError):
        tf.config.set_visible_devices([], "GPU")
