"""The fast recipe sized for CPUs: a space-to-depth stem and three conv-BN-ReLU stages of
widths 32/64/128, about 3 million multiply-adds per image (the seed network's is 4.5 million),
so a few epochs of large-batch, high-learning-rate training fit in a CPU's minute or two.

Designed for CIFAR's 32x32 images; a larger image is first averaged down, 2x2 pixels into one,
until its shorter side is at most 64 pixels, so compute and each stage's view of the image stay
as designed at 128-256 pixels. A learned stem (stride-2 conv-BN-ReLU steps) trained to lower
accuracy in the recipe's few epochs at a third of the speed (docs/training-speed.md)."""

from typing import TYPE_CHECKING

from models.input_sizes import InputSizes, average_down
from models.recipe import Recipe

if TYPE_CHECKING:
    import keras

SIZES = InputSizes(design=32, low=24, high=256, smallest=7)
# Batch normalisation's averages, which the trained model predicts with, follow the last few
# batches: a short run's dozen steps are all they get (at 0.9, a 16-step run tested at 25%
# against 37% at 0.6; on all of CIFAR-10 0.6 did as well, docs/training-speed.md).
BN_MOMENTUM = 0.6

RECIPE = Recipe(
    optimizer="sgd",
    learning_rate=0.2,
    batch_size=256,
    epochs=3,
    momentum=0.9,
    weight_decay=0.005,
    label_smoothing=0.1,
    lr_schedule="warmup_linear_decay",
    warmup_fraction=0.2,
    flip=True,
    # Shifts cost a third of a CPU's throughput and did not pay for it in a short run
    # (docs/training-speed.md).
    translate=0,
    # Random resized crops cost it accuracy on 5,000 CIFAR-10 images at 32 pixels and upscaled
    # to 160, in 3 epochs and in 10 (docs/training-speed.md#random-resized-crops).
    random_resized_crop="off",
    tta=True,
    mixed_precision="auto",
)


def build_quick_cnn(
    input_shape: tuple[int, int, int],
    num_classes: int,
    widths: tuple[int, ...] = (32, 64, 128),
) -> "keras.Model":
    """Raw pixels in (scaled inside), logits out."""
    import keras  # Imported here so the app can list architectures without loading a backend.
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="pixels")
    x = layers.Rescaling(1 / 255, name="scale_to_unit")(inputs)
    x = average_down(x, SIZES.design)
    height, width, channels = x.shape[1:]
    if height % 2 == 0 and width % 2 == 0:
        # Each 2x2 patch becomes one pixel of 4x the channels: half the resolution, no loss.
        x = layers.Reshape((height // 2, 2, width // 2, 2, channels))(x)
        x = layers.Permute((1, 3, 2, 4, 5))(x)
        x = layers.Reshape((height // 2, width // 2, 4 * channels), name="space_to_depth")(x)
    for stage, filters in enumerate(widths, start=1):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{stage}")(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, scale=False, name=f"bn{stage}")(x)
        x = layers.Activation("relu")(x)
        if stage < len(widths):
            x = layers.MaxPooling2D(name=f"pool{stage}")(x)
    x = layers.GlobalMaxPooling2D()(x)
    # Max-pooled ReLU outputs are all positive and large, so each SGD step moved every logit
    # together by about the learning rate times their squared norm: on short runs (a few dozen
    # steps) the loss went up to 20 and accuracy stayed at chance. Normalised, they don't.
    normalise = layers.BatchNormalization
    x = normalise(momentum=BN_MOMENTUM, center=False, scale=False, name="head_bn")(x)
    logits = layers.Dense(num_classes, dtype="float32", name="logits")(x)
    return keras.Model(inputs, logits, name="quick_cnn")
