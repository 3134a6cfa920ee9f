"""Custom layers, losses and schedules of the networks, written with `keras.ops` only so they
run inside the compiled step on any backend, and registered so saved models load safely."""

import math
from typing import Any

import keras
from keras import ops

PACKAGE = "keras_train_serve"
# Where an augmentation layer saves its generator's state, beside its (absent) weights.
SEED_STATE = "seed_state"


class _Augmentation(keras.layers.Layer):
    """A training-time augmentation drawn per image from the layer's own seed, in `_augment`;
    identity at inference."""

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self._seeds = keras.random.SeedGenerator(seed)

    def call(self, images: Any, training: bool | None = None) -> Any:
        return self._augment(images) if training else images

    def _augment(self, images: Any) -> Any:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed}

    # Keras saves a layer's weights but not its generators' states: without this, a job resumed
    # from a checkpoint would draw other augmentations than the run it continues.
    def save_own_variables(self, store: Any) -> None:
        store[SEED_STATE] = self._seeds.state

    def load_own_variables(self, store: Any) -> None:
        if SEED_STATE in store:  # a model saved before the state was
            self._seeds.state.assign(store[SEED_STATE])


@keras.saving.register_keras_serializable(package=PACKAGE)
class RandomFlipTranslate(_Augmentation):
    """Training-time augmentation on the accelerator: a random horizontal flip, and a random
    translation by up to `pixels` (reflect-padded), drawn per image. Identity at inference.

    Whole-batch gathers rather than an affine transform per image: Keras' RandomTranslation made
    each GPU epoch 80 times slower in the measurements behind this project's dataset notes.
    """

    def __init__(
        self, flip: bool = True, pixels: int = 2, seed: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(seed, **kwargs)
        self.flip = flip
        self.pixels = pixels

    def _augment(self, images: Any) -> Any:
        batch = ops.shape(images)[0]
        if self.flip:
            flipped = keras.random.uniform((batch, 1, 1, 1), seed=self._seeds) < 0.5
            images = ops.where(flipped, ops.flip(images, axis=2), images)
        if self.pixels:
            images = self._translate(images, batch)
        return images

    def _translate(self, images: Any, batch: Any) -> Any:
        pad = self.pixels
        height, width = images.shape[1], images.shape[2]
        padded = ops.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="reflect")
        dy = keras.random.randint((batch, 1), 0, 2 * pad + 1, seed=self._seeds)
        dx = keras.random.randint((batch, 1), 0, 2 * pad + 1, seed=self._seeds)
        rows = dy + ops.arange(height)[None, :]
        cols = dx + ops.arange(width)[None, :]
        padded = ops.take_along_axis(padded, rows[:, :, None, None], axis=1)
        return ops.take_along_axis(padded, cols[:, None, :, None], axis=2)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "flip": self.flip, "pixels": self.pixels}


@keras.saving.register_keras_serializable(package=PACKAGE)
class RandomResizedCrop(_Augmentation):
    """Training-time augmentation for photos, on the accelerator: each image replaced by a random
    crop of it, covering between `min_area` of its area and all of it, its shape the image's own
    stretched by an aspect ratio drawn between 1/`max_aspect` and `max_aspect` (log-uniform, as
    torchvision's), resized back to the image's size. Identity at inference.

    Bilinear resampling along each axis in turn, as a batched matrix product, so every image
    gets its own crop within one compiled step.
    """

    def __init__(
        self,
        min_area: float = 0.25,
        max_aspect: float = 4 / 3,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed, **kwargs)
        self.min_area = min_area
        self.max_aspect = max_aspect

    def _augment(self, images: Any) -> Any:
        batch = ops.shape(images)[0]
        height, width = images.shape[1], images.shape[2]
        area = keras.random.uniform((batch,), self.min_area, 1.0, seed=self._seeds)
        log_aspect = math.log(self.max_aspect)
        aspect = ops.exp(keras.random.uniform((batch,), -log_aspect, log_aspect, seed=self._seeds))
        # In pixels; the aspect stretches the image's own shape, and a crop wider or taller
        # than the image is cut to it.
        crop_height = height * ops.minimum(ops.sqrt(area / aspect), 1.0)
        crop_width = width * ops.minimum(ops.sqrt(area * aspect), 1.0)
        top = keras.random.uniform((batch,), seed=self._seeds) * (height - crop_height)
        left = keras.random.uniform((batch,), seed=self._seeds) * (width - crop_width)
        images = _resample_axis(images, top, crop_height, axis=1)
        return _resample_axis(images, left, crop_width, axis=2)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "min_area": self.min_area, "max_aspect": self.max_aspect}


def _resample_axis(images: Any, start: Any, length: Any, axis: int) -> Any:
    """Each image's span [start, start + length) of `axis` (per image, in pixels), stretched
    bilinearly over the axis' whole size (pixel centres, as align_corners=False)."""
    size = images.shape[axis]
    steps = (ops.arange(size, dtype="float32") + 0.5) / size
    source = start[:, None] + steps[None, :] * length[:, None] - 0.5
    source = ops.clip(source, 0.0, size - 1.0)
    # Bilinear weights as a matrix per image (each row: two neighbours, weighted by nearness),
    # applied as one batched matrix product: a gather per image ran 2-7 times slower on CPUs.
    pixels = ops.arange(size, dtype="float32")
    weights = ops.relu(1.0 - ops.abs(source[:, :, None] - pixels[None, None, :]))
    weights = ops.cast(weights, images.dtype)
    if axis == 1:
        return ops.einsum("bih,bhwc->biwc", weights, images)
    return ops.einsum("bjw,bhwc->bhjc", weights, images)


@keras.saving.register_keras_serializable(package=PACKAGE)
class SparseCrossentropy(keras.losses.Loss):
    """Sparse categorical cross-entropy from logits, with label smoothing (Keras' own sparse
    loss has none)."""

    def __init__(
        self, label_smoothing: float = 0.0, name: str = "sparse_crossentropy", **kwargs: Any
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.label_smoothing = label_smoothing

    def call(self, y_true: Any, y_pred: Any) -> Any:
        classes = ops.shape(y_pred)[-1]
        labels = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        one_hot = ops.one_hot(labels, classes, dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(
            one_hot, y_pred, from_logits=True, label_smoothing=self.label_smoothing
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


@keras.saving.register_keras_serializable(package=PACKAGE)
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Stepped per batch: linear from `start_factor`·peak up to the peak over the first
    `warmup_fraction` of the steps, then linear down to `end_factor`·peak at the last step."""

    def __init__(
        self,
        peak: float,
        total_steps: int,
        warmup_fraction: float,
        start_factor: float = 0.2,
        end_factor: float = 0.07,
    ) -> None:
        self.peak = peak
        self.total_steps = total_steps
        self.warmup_fraction = warmup_fraction
        self.start_factor = start_factor
        self.end_factor = end_factor

    def __call__(self, step: Any) -> Any:
        step = ops.cast(step, "float32")
        warmup = max(1.0, self.total_steps * self.warmup_fraction)
        decay = max(1.0, self.total_steps - warmup)
        rising = self.start_factor + (1.0 - self.start_factor) * step / warmup
        falling = 1.0 - (1.0 - self.end_factor) * (step - warmup) / decay
        factor = ops.where(step < warmup, rising, ops.maximum(falling, self.end_factor))
        return self.peak * factor

    def get_config(self) -> dict[str, Any]:
        return {
            "peak": self.peak,
            "total_steps": self.total_steps,
            "warmup_fraction": self.warmup_fraction,
            "start_factor": self.start_factor,
            "end_factor": self.end_factor,
        }
