"""TensorFlow's MirroredStrategy over every visible GPU, or over logical CPU devices."""

from dataclasses import dataclass
from functools import cache
from typing import Any

from core.gpu_memory import enable_gpu_memory_growth


@dataclass(frozen=True)
class Distribution:
    strategy: Any  # a tf.distribute.Strategy
    devices: list[str]

    @property
    def replicas(self) -> int:
        return int(self.strategy.num_replicas_in_sync)


@cache
def get_distribution(cpu_replicas: int) -> Distribution:
    """Configure the devices (once per process, before TensorFlow starts them) and the strategy.

    Without GPUs, `cpu_replicas` > 1 splits the CPU into that many logical devices, so the
    multi-replica path (batch split across replicas, gradient all-reduce) runs for real.
    """
    import tensorflow as tf

    # Training and the app's predictor may share a GPU; neither takes all its memory.
    enable_gpu_memory_growth()
    if tf.config.list_physical_devices("GPU"):
        strategy = tf.distribute.MirroredStrategy()
        return Distribution(strategy, list(strategy.extended.worker_devices))
    cpu = tf.config.list_physical_devices("CPU")[0]
    if cpu_replicas <= 1:
        # MirroredStrategy over a single CPU device only adds overhead: it halved the seed
        # network's images/s on a 2-core machine (745 against 1420), so one CPU trains plainly.
        device = tf.config.list_logical_devices("CPU")[0].name
        return Distribution(tf.distribute.get_strategy(), [device])
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(cpu_replicas)]
    )
    names = [device.name for device in tf.config.list_logical_devices("CPU")]
    # NCCL, the default all-reduce, needs GPUs.
    strategy = tf.distribute.MirroredStrategy(
        devices=names, cross_device_ops=tf.distribute.ReductionToOneDevice()
    )
    return Distribution(strategy, list(strategy.extended.worker_devices))
