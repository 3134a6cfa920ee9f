"""Optimizers and learning-rate schedules by the names a job's parameters use."""

from collections.abc import Iterable, Iterator
from typing import Any

import keras

from core.schemas import TrainParams
from models.layers import WarmupLinearDecay


class SGDWithScaledLearningRates(keras.optimizers.SGD):
    """SGD whose step on some variables (batch-norm biases, in airbench94 and ResNet-9's
    recipes) is `scale` times larger. Weight decay stays as it is, as in those recipes."""

    def __init__(
        self,
        *args: Any,
        scaled_variables: Iterable[keras.Variable] = (),
        scale: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # Their keys, not the variables: an optimizer tracks the variables it holds as its own,
        # and on JAX each would then be donated twice to the compiled step (an error).
        self._scaled_keys = {self._var_key(variable) for variable in scaled_variables}
        self._scale = scale

    def update_step(self, gradient: Any, variable: keras.Variable, learning_rate: Any) -> None:
        if self._var_key(variable) in self._scaled_keys:
            learning_rate = learning_rate * self._scale
        super().update_step(gradient, variable, learning_rate)


def make_optimizer(
    params: TrainParams, total_steps: int, model: keras.Model
) -> keras.optimizers.Optimizer:
    learning_rate = _schedule(params, total_steps)
    decay = params.weight_decay or None
    # The weights' moving average replaces the weights at the end of `fit`.
    ema = {"use_ema": params.ema_momentum > 0, "ema_momentum": params.ema_momentum or 0.99}
    match params.optimizer:
        case "adam":
            return keras.optimizers.Adam(learning_rate, weight_decay=decay, **ema)
        case "adamw":
            return keras.optimizers.AdamW(learning_rate, weight_decay=params.weight_decay, **ema)
        case "sgd" if params.bn_bias_lr_scale != 1:
            return SGDWithScaledLearningRates(
                learning_rate,
                momentum=params.momentum,
                nesterov=True,
                weight_decay=decay,
                scaled_variables=batch_norm_biases(model),
                scale=params.bn_bias_lr_scale,
                **ema,
            )
        case "sgd":
            return keras.optimizers.SGD(
                learning_rate, momentum=params.momentum, nesterov=True, weight_decay=decay, **ema
            )
        case "rmsprop":
            return keras.optimizers.RMSprop(learning_rate, weight_decay=decay, **ema)


def batch_norm_biases(model: keras.Model) -> list[keras.Variable]:
    return [
        layer.beta
        for layer in _all_layers(model)
        if isinstance(layer, keras.layers.BatchNormalization) and layer.center
    ]


def _all_layers(layer: keras.layers.Layer) -> Iterator[keras.layers.Layer]:
    yield layer
    for inner in getattr(layer, "layers", []):  # a model's layers, nested models included
        yield from _all_layers(inner)


def _schedule(
    params: TrainParams, total_steps: int
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    if params.lr_schedule == "constant":
        return params.learning_rate
    return WarmupLinearDecay(params.learning_rate, total_steps, params.warmup_fraction)
