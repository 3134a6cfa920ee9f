"""The fast recipe sized for CPUs: a space-to-depth stem and three conv-BN-ReLU stages of
widths 32/64/128, about 3 million multiply-adds per image (the seed network's is 4.5 million),
so a few epochs of large-batch, high-learning-rate training fit in a CPU's minute or two."""

from typing import TYPE_CHECKING

from models.recipe import Recipe

if TYPE_CHECKING:
    import keras

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

    height, width, channels = input_shape
    inputs = keras.Input(shape=input_shape, name="pixels")
    x = layers.Rescaling(1 / 255, name="scale_to_unit")(inputs)
    if height % 2 == 0 and width % 2 == 0:
        # Each 2x2 patch becomes one pixel of 4x the channels: half the resolution, no loss.
        x = layers.Reshape((height // 2, 2, width // 2, 2, channels))(x)
        x = layers.Permute((1, 3, 2, 4, 5))(x)
        x = layers.Reshape((height // 2, width // 2, 4 * channels), name="space_to_depth")(x)
    for stage, filters in enumerate(widths, start=1):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{stage}")(x)
        # A fast-moving average: a few hundred steps are all the statistics get.
        x = layers.BatchNormalization(momentum=0.9, scale=False, name=f"bn{stage}")(x)
        x = layers.Activation("relu")(x)
        if stage < len(widths):
            x = layers.MaxPooling2D(name=f"pool{stage}")(x)
    x = layers.GlobalMaxPooling2D()(x)
    logits = layers.Dense(num_classes, dtype="float32", name="logits")(x)
    return keras.Model(inputs, logits, name="quick_cnn")
