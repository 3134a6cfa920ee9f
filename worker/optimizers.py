"""Optimizers by the names a job's parameters use."""

import keras

from models.recipe import OptimizerName


def make_optimizer(name: OptimizerName, learning_rate: float) -> keras.optimizers.Optimizer:
    match name:
        case "adam":
            return keras.optimizers.Adam(learning_rate)
        case "adamw":
            return keras.optimizers.AdamW(learning_rate)
        case "sgd":
            return keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True)
        case "rmsprop":
            return keras.optimizers.RMSprop(learning_rate)
