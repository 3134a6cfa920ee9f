"""A network's default training recipe, kept beside the network it belongs to."""

from dataclasses import dataclass
from typing import Literal

OptimizerName = Literal["adam", "adamw", "sgd", "rmsprop"]
ScheduleName = Literal["constant", "warmup_linear_decay"]
# "auto": bfloat16 compute on GPUs, float32 elsewhere.
MixedPrecision = Literal["auto", "off", "bfloat16", "float16"]
# "auto": Keras decides (XLA where the model supports it).
JitCompile = Literal["auto", "on", "off"]


@dataclass(frozen=True)
class Recipe:
    optimizer: OptimizerName
    learning_rate: float
    batch_size: int
    epochs: int
    momentum: float = 0.9  # SGD (Nesterov) only
    weight_decay: float = 0.0  # decoupled: each step multiplies weights by 1 - lr * decay
    label_smoothing: float = 0.0
    lr_schedule: ScheduleName = "constant"
    warmup_fraction: float = 0.0
    flip: bool = False  # random horizontal flips while training
    translate: int = 0  # random shifts of up to this many pixels while training
    tta: bool = False  # average predictions over each test image and its mirror
    # Also average in the images shifted this many pixels diagonally each way (airbench94's TTA).
    tta_shift: int = 0
    # airbench94's tricks, each a job option: a frozen patch-whitening first layer initialised
    # from the training images; a higher learning rate on batch-norm biases; an exponential
    # moving average of the weights (0: off), which the model ends with.
    whiten_init: bool = False
    bn_bias_lr_scale: float = 1.0
    ema_momentum: float = 0.0
    mixed_precision: MixedPrecision = "auto"
    jit_compile: JitCompile = "auto"
    steps_per_execution: int = 1
