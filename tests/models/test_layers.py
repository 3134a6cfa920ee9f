import numpy as np
import pytest

keras = pytest.importorskip("keras")

from models.layers import (  # noqa: E402
    RandomFlipTranslate,
    RandomResizedCrop,
    SparseCrossentropy,
    WarmupLinearDecay,
)


def _numpy(tensor) -> np.ndarray:
    return keras.ops.convert_to_numpy(tensor)


def test_flip_translate_gives_shifted_crops_of_each_image_or_its_mirror():
    images = np.random.default_rng(0).random((64, 8, 8, 3)).astype("float32")
    layer = RandomFlipTranslate(flip=True, pixels=2, seed=4)

    out = _numpy(layer(images, training=True))

    flips = shifts = 0
    for original, augmented in zip(images, out, strict=True):
        matches = [
            (flipped, dy, dx)
            for flipped, candidate in ((False, original), (True, original[:, ::-1]))
            for dy in range(5)
            for dx in range(5)
            if np.allclose(
                np.pad(candidate, ((2, 2), (2, 2), (0, 0)), mode="reflect")[
                    dy : dy + 8, dx : dx + 8
                ],
                augmented,
            )
        ]
        assert matches, "every output is a reflect-padded crop of the image or its mirror"
        flips += matches[0][0]
        shifts += (matches[0][1], matches[0][2]) != (2, 2)
    assert 10 < flips < 54 and shifts > 32  # drawn per image, not once per batch


def test_augmentation_is_identity_at_inference():
    images = np.random.default_rng(1).random((4, 8, 8, 3)).astype("float32")

    assert (_numpy(RandomFlipTranslate()(images, training=False)) == images).all()


def test_resized_crops_stretch_a_part_of_each_image_over_the_whole():
    # A ramp along the width, the same in every row: a crop of it is a ramp again, as steep as
    # the crop is narrow, starting wherever the crop starts.
    ramp = np.broadcast_to(np.arange(40, dtype="float32")[None, :, None], (30, 40, 3))
    images = np.repeat(ramp[None], 64, axis=0)
    layer = RandomResizedCrop(min_area=0.25, seed=2)

    out = _numpy(layer(images, training=True))

    assert out.shape == images.shape
    assert np.allclose(out, out[:, :1])  # rows stay alike: the crop is a rectangle
    slopes = np.diff(out[:, 0, :, 0], axis=1)
    assert np.allclose(slopes, slopes[:, :1], atol=1e-3)  # resampled linearly
    # Between the narrowest crop (a quarter of the area, stretched 4:3 narrower) and all of it.
    assert (slopes[:, 0] > 0.43 - 1e-3).all() and (slopes[:, 0] <= 1 + 1e-4).all()
    assert len(np.unique(np.round(slopes[:, 0], 3))) > 32  # drawn per image
    assert out.min() >= 0 and out.max() <= 39


def test_resized_crops_keep_the_image_shape_and_pass_images_through_at_inference():
    images = np.random.default_rng(3).random((4, 75, 100, 3)).astype("float32")
    layer = RandomResizedCrop(seed=0)

    assert _numpy(layer(images, training=True)).shape == (4, 75, 100, 3)
    assert (_numpy(layer(images, training=False)) == images).all()
    assert (_numpy(layer(images)) == images).all()


def test_resized_crops_differ_per_call_and_repeat_with_the_seed():
    images = np.random.default_rng(4).random((8, 16, 16, 3)).astype("float32")

    first, again = (RandomResizedCrop(seed=7) for _ in range(2))
    calls = [_numpy(first(images, training=True)) for _ in range(2)]
    repeated = [_numpy(again(images, training=True)) for _ in range(2)]

    assert not np.allclose(calls[0], calls[1])
    assert all(np.allclose(a, b) for a, b in zip(calls, repeated, strict=True))
    other = _numpy(RandomResizedCrop(seed=8)(images, training=True))
    assert not np.allclose(calls[0], other)
    assert RandomResizedCrop.from_config(first.get_config()).min_area == first.min_area


def test_a_crop_of_the_whole_image_at_its_own_shape_is_the_image():
    images = np.random.default_rng(5).random((4, 10, 7, 3)).astype("float32")
    layer = RandomResizedCrop(min_area=1.0, max_aspect=1.0, seed=1)

    assert np.allclose(_numpy(layer(images, training=True)), images, atol=1e-5)


def test_warmup_linear_decay_rises_to_the_peak_then_falls():
    schedule = WarmupLinearDecay(peak=2.0, total_steps=100, warmup_fraction=0.25)

    values = [float(_numpy(schedule(step))) for step in (0, 25, 100, 500)]

    assert values == pytest.approx([0.4, 2.0, 0.14, 0.14], abs=1e-5)
    assert WarmupLinearDecay.from_config(schedule.get_config()).peak == 2.0


def test_sparse_crossentropy_matches_keras_and_smooths_labels():
    logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]], dtype="float32")
    labels = np.array([0, 2])
    reference = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)

    plain = SparseCrossentropy(0.0)(labels, logits)
    smoothed = SparseCrossentropy(0.2)(labels, logits)

    assert float(_numpy(plain)) == pytest.approx(float(_numpy(reference)), rel=1e-5)
    assert float(_numpy(smoothed)) > float(_numpy(plain))  # confident right answers cost more
