"""Keras network builders, registered by name in one place."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from models import airbench, quick_cnn, seed_cnn
from models.input_sizes import InputSizes
from models.recipe import Recipe

if TYPE_CHECKING:
    import keras

Builder = Callable[[tuple[int, int, int], int], "keras.Model"]


@dataclass(frozen=True)
class Architecture:
    name: str
    description: str
    build: Builder
    recipe: Recipe
    sizes: InputSizes
    # A first convolution named `whiten` that `whiten_init` can initialise.
    has_whitening_layer: bool = False


ARCHITECTURES: dict[str, Architecture] = {
    "seed_cnn": Architecture(
        name="seed_cnn",
        description="Three-convolution CNN from the TensorFlow CIFAR-10 tutorial.",
        build=seed_cnn.build_seed_cnn,
        recipe=seed_cnn.RECIPE,
        sizes=seed_cnn.SIZES,
    ),
    "airbench": Architecture(
        name="airbench",
        description="Fast BN conv net (widths 64/256/256) with airbench94's recipe.",
        build=airbench.build_airbench,
        recipe=airbench.RECIPE,
        sizes=airbench.SIZES,
        has_whitening_layer=True,
    ),
    "quick_cnn": Architecture(
        name="quick_cnn",
        description="Small BN conv net (widths 32/64/128): the fast recipe sized for CPUs.",
        build=quick_cnn.build_quick_cnn,
        recipe=quick_cnn.RECIPE,
        sizes=quick_cnn.SIZES,
    ),
}


def get_architecture(name: str) -> Architecture:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(ARCHITECTURES)
        raise KeyError(f"Unknown model {name!r}. Expected one of: {known}.") from None
