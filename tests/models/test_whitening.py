import numpy as np
import pytest

from models.whitening import _patches, whitening_kernel


def test_whitening_filters_decorrelate_the_patches_they_were_computed_from():
    rng = np.random.default_rng(0)
    # Correlated channels and neighbouring pixels, like natural images.
    base = rng.normal(size=(400, 9, 9, 1))
    images = np.concatenate([base, 0.8 * base + 0.2 * rng.normal(size=base.shape)], axis=-1)
    images = images + 0.5 * np.roll(images, 1, axis=1)

    kernel = whitening_kernel(images, size=2, epsilon=0)

    assert kernel.shape == (2, 2, 2, 16)
    responses = _patches(images, 2) @ kernel.reshape(8, 16)
    covariance = responses[:, :8].T @ responses[:, :8] / len(responses)
    assert covariance == pytest.approx(np.eye(8), abs=1e-6)
    assert np.allclose(responses[:, 8:], -responses[:, :8])  # each filter and its negation


def test_the_kernel_is_the_same_however_the_images_come_in_chunks(monkeypatch):
    from models import whitening

    images = np.random.default_rng(1).normal(size=(40, 9, 9, 2))
    whole = whitening_kernel(images, size=2)

    covariance = whitening.PatchCovariance(2)
    covariance.add(images[:15])
    covariance.add(images[15:])
    # Patches of one image at a time: what images far larger than these get.
    monkeypatch.setattr(whitening, "PATCH_BYTES", 8 * 8 * 8 * 8)
    one_by_one = whitening_kernel(images, size=2)

    assert covariance.whitening_kernel() == pytest.approx(whole, rel=1e-9, abs=1e-9)
    assert one_by_one == pytest.approx(whole, rel=1e-9, abs=1e-9)


def test_the_sample_is_read_whole_on_cifar_and_in_bounded_chunks_of_large_images():
    from models.whitening import SAMPLE_CHUNK_BYTES, SAMPLE_IMAGES, sample_chunk_images

    assert sample_chunk_images((32, 32, 3)) >= SAMPLE_IMAGES
    large = sample_chunk_images((512, 512, 3))
    assert large >= 1 and large * 512 * 512 * 3 * 4 <= SAMPLE_CHUNK_BYTES
