"""The seed program's network: a three-convolution CNN, as in TensorFlow's CIFAR-10 tutorial."""

from typing import TYPE_CHECKING

from models.input_sizes import InputSizes
from models.recipe import Recipe

if TYPE_CHECKING:
    import keras

# Made for CIFAR's 32x32 images: its dense layer takes the last convolution's whole output, so
# its weights grow with the square of the side (590,000 of them at 64 pixels, 15 million at 256),
# and three unpadded convolutions and two poolings leave nothing of an image under 18 pixels.
SIZES = InputSizes(design=32, low=24, high=64, smallest=18)

# Exactly the seed program's: no augmentation, float32 everywhere.
RECIPE = Recipe(
    optimizer="adam", learning_rate=1e-3, batch_size=32, epochs=10, mixed_precision="off"
)


def build_seed_cnn(input_shape: tuple[int, int, int], num_classes: int) -> "keras.Model":
    """Conv(32)-Pool-Conv(64)-Pool-Conv(64)-Dense(64)-Dense(classes), logits out, raw pixels in."""
    import keras  # Imported here so the app can list architectures without loading a backend.
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="pixels")
    x = layers.Rescaling(1.0 / 255.0, name="scale_to_unit")(inputs)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(64, activation="relu")(x)
    logits = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, logits, name="seed_cnn")
