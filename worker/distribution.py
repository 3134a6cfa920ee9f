"""Data-parallel training over every accelerator, whatever Keras backend runs it.

TensorFlow (the default): `tf.distribute.MirroredStrategy` over all visible GPUs. JAX:
`keras.distribution.DataParallel` over all devices. Without GPUs, `cpu_replicas` > 1 splits the
CPU into that many devices, so the multi-replica path (the batch split across replicas, the
gradients all-reduced) runs for real on any machine.
"""

import contextlib
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import keras

from models.backend import enable_gpu_memory_growth


@dataclass(frozen=True)
class Distribution:
    backend: str
    devices: list[str]
    scope: Callable[[], AbstractContextManager[object]]  # where models must be built

    @property
    def replicas(self) -> int:
        return len(self.devices)

    @property
    def has_gpu(self) -> bool:
        return any("GPU" in device.upper() or "CUDA" in device.upper() for device in self.devices)


@cache
def get_distribution(cpu_replicas: int, compilation_cache: Path | None = None) -> Distribution:
    """Configure the devices once per process, before the backend starts them.

    On JAX, compiled steps are also kept in `compilation_cache`, so a later job (or worker) of
    the same shapes skips XLA compilation.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _tensorflow_distribution(cpu_replicas)
    if backend == "jax":
        return _jax_distribution(cpu_replicas, compilation_cache)
    raise RuntimeError(f"The worker trains on the tensorflow or jax backend, not {backend!r}.")


def _tensorflow_distribution(cpu_replicas: int) -> Distribution:
    import tensorflow as tf

    # Training and the app's predictor may share a GPU; neither takes all its memory.
    enable_gpu_memory_growth()
    if tf.config.list_physical_devices("GPU"):
        strategy = tf.distribute.MirroredStrategy()
        return Distribution("tensorflow", list(strategy.extended.worker_devices), strategy.scope)
    cpu = tf.config.list_physical_devices("CPU")[0]
    if cpu_replicas <= 1:
        # MirroredStrategy over a single CPU device only adds overhead, so one CPU trains
        # plainly (docs/training-speed.md#one-cpu-device).
        device = tf.config.list_logical_devices("CPU")[0].name
        return Distribution("tensorflow", [device], contextlib.nullcontext)
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(cpu_replicas)]
    )
    names = [device.name for device in tf.config.list_logical_devices("CPU")]
    # NCCL, the default all-reduce, needs GPUs.
    strategy = tf.distribute.MirroredStrategy(
        devices=names, cross_device_ops=tf.distribute.ReductionToOneDevice()
    )
    return Distribution("tensorflow", list(strategy.extended.worker_devices), strategy.scope)


def _jax_distribution(cpu_replicas: int, compilation_cache: Path | None) -> Distribution:
    if cpu_replicas > 1:
        # Read when JAX starts its CPU backend, which it does lazily, on first use.
        flag = f"--xla_force_host_platform_device_count={cpu_replicas}"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()
    import jax

    if compilation_cache is not None:
        jax.config.update("jax_compilation_cache_dir", str(compilation_cache))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    devices = jax.devices()
    if len(devices) > 1:
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    return Distribution("jax", [str(device) for device in devices], contextlib.nullcontext)
