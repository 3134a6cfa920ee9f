"""Optimizers and learning-rate schedules by the names a job's parameters use."""

import keras

from core.schemas import TrainParams
from models.layers import WarmupLinearDecay


def make_optimizer(params: TrainParams, total_steps: int) -> keras.optimizers.Optimizer:
    learning_rate = _schedule(params, total_steps)
    decay = params.weight_decay or None
    match params.optimizer:
        case "adam":
            return keras.optimizers.Adam(learning_rate, weight_decay=decay)
        case "adamw":
            return keras.optimizers.AdamW(learning_rate, weight_decay=params.weight_decay)
        case "sgd":
            return keras.optimizers.SGD(
                learning_rate, momentum=params.momentum, nesterov=True, weight_decay=decay
            )
        case "rmsprop":
            return keras.optimizers.RMSprop(learning_rate, weight_decay=decay)


def _schedule(
    params: TrainParams, total_steps: int
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    if params.lr_schedule == "constant":
        return params.learning_rate
    return WarmupLinearDecay(params.learning_rate, total_steps, params.warmup_fraction)
