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
