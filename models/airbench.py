"""A fast CIFAR-10 network in the family of airbench94 (Keller Jordan, 2024) and David Page's
ResNet-9: conv-pool-BN-GELU blocks of widths 64/256/256, trained with a short, large-batch,
high-learning-rate recipe.

Designed for CIFAR's 32x32 images; a larger image is first averaged down, 2x2 pixels into one,
until its shorter side is at most 64 pixels, so the blocks see about the image they were
designed for, and the whitening layer's 2x2 patches span detail rather than the near-constant
patches of an image much larger than its content."""

from typing import TYPE_CHECKING, Any

from models.input_sizes import InputSizes, average_down
from models.recipe import Recipe

if TYPE_CHECKING:
    import keras

# Per-channel statistics of CIFAR-10's training images, in 0-255 pixels.
CIFAR10_MEAN = (125.3, 123.0, 113.9)
CIFAR10_STD = (63.0, 62.1, 66.7)

SIZES = InputSizes(design=32, low=24, high=256, smallest=9)

RECIPE = Recipe(
    optimizer="sgd",
    learning_rate=1.5,  # airbench94's 11.5 per kilostep, for a loss averaged over the batch
    batch_size=1024,
    # With the tricks below, 16 epochs reach about airbench94's accuracy on the JPEG copy of
    # CIFAR-10 (docs/training-speed.md#one-h100).
    epochs=16,
    momentum=0.85,
    weight_decay=0.0089,  # its coupled decay, as the decoupled rate Keras applies per step
    label_smoothing=0.2,
    lr_schedule="warmup_linear_decay",
    warmup_fraction=0.23,
    flip=True,
    translate=2,
    # Photos' augmentation, for images larger than CIFAR's (not yet measured on a GPU).
    random_resized_crop="auto",
    tta=True,
    tta_shift=1,
    whiten_init=True,
    bn_bias_lr_scale=64.0,
    mixed_precision="auto",
    steps_per_execution=1,
)


def build_airbench(
    input_shape: tuple[int, int, int],
    num_classes: int,
    widths: tuple[int, int, int] = (64, 256, 256),
) -> "keras.Model":
    """Raw pixels in (normalised inside), logits out."""
    import keras  # Imported here so the app can list architectures without loading a backend.
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="pixels")
    x = layers.Normalization(
        mean=list(CIFAR10_MEAN), variance=[s * s for s in CIFAR10_STD], name="normalize"
    )(inputs)
    x = average_down(x, SIZES.design)
    x = layers.Conv2D(24, 2, padding="valid", name="whiten")(x)
    x = layers.Activation("gelu")(x)
    for block, width in enumerate(widths, start=1):
        x = _conv_group(x, width, f"block{block}")
    x = layers.GlobalMaxPooling2D()(x)
    x = layers.Dense(num_classes, use_bias=False, name="head")(x)
    # airbench scales the logits by 1/9; float32 keeps the loss exact under mixed precision.
    logits = layers.Rescaling(1 / 9, dtype="float32", name="logits")(x)
    return keras.Model(inputs, logits, name="airbench")


def _conv_group(x: Any, width: int, name: str) -> Any:
    from keras import layers

    x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    x = layers.MaxPooling2D(2, name=f"{name}_pool")(x)
    x = _batch_norm(x, f"{name}_bn1")
    x = layers.Activation("gelu")(x)
    x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"{name}_conv2")(x)
    x = _batch_norm(x, f"{name}_bn2")
    return layers.Activation("gelu")(x)


def _batch_norm(x: Any, name: str) -> Any:
    from keras import layers

    # No learned scale and a fast-moving average, as airbench94 (PyTorch momentum 0.6).
    return layers.BatchNormalization(momentum=0.4, epsilon=1e-5, scale=False, name=name)(x)
