"""A network's default training recipe, kept beside the network it belongs to."""

from dataclasses import dataclass
from typing import Literal

OptimizerName = Literal["adam", "adamw", "sgd", "rmsprop"]


@dataclass(frozen=True)
class Recipe:
    optimizer: OptimizerName
    learning_rate: float
    batch_size: int
    epochs: int
