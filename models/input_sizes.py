"""The image sizes a network is meant for, and the halvings that bring a larger image down to
the size it was designed for."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class InputSizes:
    """Image sides in pixels: the network was designed for `design`, is meant for images from
    `low` to `high` (a job outside trains, with a warning), and cannot be built below
    `smallest`."""

    design: int
    low: int
    high: int
    smallest: int

    def refusal(self, height: int, width: int) -> str | None:
        """Why images of this size cannot be trained on, or None."""
        if min(height, width) < self.smallest:
            return (
                f"Images of {height}x{width} pixels are too small for this network: "
                f"it needs at least {self.smallest}x{self.smallest}."
            )
        return None

    def warning(self, height: int, width: int) -> str | None:
        """What to warn a job of, for images of this size, or None."""
        if min(height, width) < self.low or max(height, width) > self.high:
            return (
                f"images of {height}x{width} pixels are outside the {self} this network is "
                "meant for: it trains, but its recipe was not tuned for them"
            )
        return None

    def __str__(self) -> str:
        return f"{self.low}-{self.high} px"


def downsampling_steps(height: int, width: int, design: int) -> int:
    """How many stride-2 steps bring the shorter side down to at most twice `design`: none for
    images up to that size, which the network sees as it was designed to."""
    side, steps = min(height, width), 0
    while side > 2 * design:
        side = (side + 1) // 2  # a stride-2 step with "same" padding
        steps += 1
    return steps


def average_down(x: Any, design: int) -> Any:
    """`x`, a Keras tensor of images, averaged down 2x2 pixels into one `downsampling_steps`
    times: what airbench and quick_cnn do first to an image larger than they were designed for."""
    from keras import layers  # Imported here: the app reads the sizes without loading a backend.

    height, width = x.shape[1:3]
    for step in range(1, downsampling_steps(height, width, design) + 1):
        x = layers.AveragePooling2D(2, padding="same", name=f"downsample{step}")(x)
    return x
