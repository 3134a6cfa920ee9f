"""Data-dependent initialisation of a first convolution as a patch-whitening filter bank, as
airbench94 does: its filters are the eigenvectors of the covariance of the training images'
patches, scaled by 1/sqrt(eigenvalue), each with its negation (so a ReLU/GELU keeps both signs).
The layer's kernel is then frozen; its bias still learns."""

from collections.abc import Callable
from typing import Any

import numpy as np

EPSILON = 5e-4  # airbench94's; keeps the near-zero eigenvalues from blowing up
SAMPLE_IMAGES = 5000
CHUNK_IMAGES = 500


def whitening_kernel(images: np.ndarray, size: int, epsilon: float = EPSILON) -> np.ndarray:
    """A (size, size, channels, 2 * size * size * channels) kernel from (N, H, W, C) images."""
    features = size * size * images.shape[-1]
    covariance, count = np.zeros((features, features)), 0
    for start in range(0, len(images), CHUNK_IMAGES):  # bounded memory: patches are many
        patches = _patches(images[start : start + CHUNK_IMAGES].astype(np.float64), size)
        covariance += patches.T @ patches
        count += len(patches)
    covariance /= count
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    # Largest eigenvalue first, as airbench orders them.
    eigenvalues, eigenvectors = eigenvalues[::-1], eigenvectors[:, ::-1]
    scaled = eigenvectors / np.sqrt(eigenvalues + epsilon)
    channels = images.shape[-1]
    filters = scaled.reshape(size, size, channels, -1)
    return np.concatenate([filters, -filters], axis=-1).astype(np.float32)


def initialize_whitening(
    layer: Any, images: np.ndarray, normalize: Callable[[np.ndarray], Any]
) -> None:
    """Set `layer`'s kernel from a sample of `images` (raw pixels, passed through `normalize`,
    what the model does before the layer) and freeze it."""
    sample = images[: min(len(images), SAMPLE_IMAGES)]
    size = layer.kernel.shape[0]
    kernel = whitening_kernel(np.asarray(normalize(sample)), size)
    if kernel.shape != tuple(layer.kernel.shape):
        raise ValueError(
            f"Layer {layer.name!r} has a {tuple(layer.kernel.shape)} kernel; whitening "
            f"{size}x{size} patches of {images.shape[-1]} channels needs {kernel.shape}."
        )
    layer.kernel.assign(kernel)
    layer.kernel.trainable = False


def _patches(images: np.ndarray, size: int) -> np.ndarray:
    """Every size x size patch (stride 1), flattened in (row, column, channel) order."""
    windows = np.lib.stride_tricks.sliding_window_view(images, (size, size), axis=(1, 2))
    # (N, H', W', C, size, size) -> (N, H', W', size, size, C)
    windows = windows.transpose(0, 1, 2, 4, 5, 3)
    return windows.reshape(-1, size * size * images.shape[-1])
