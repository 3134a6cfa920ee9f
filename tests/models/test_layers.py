import numpy as np
import pytest

keras = pytest.importorskip("keras")

from models.layers import RandomFlipTranslate, SparseCrossentropy, WarmupLinearDecay  # noqa: E402


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
