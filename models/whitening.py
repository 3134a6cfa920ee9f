"""Data-dependent initialisation of a first convolution as a patch-whitening filter bank, as
airbench94 does: its filters are the eigenvectors of the covariance of the training images'
patches, scaled by 1/sqrt(eigenvalue), each with its negation (so a ReLU/GELU keeps both signs).
The layer's kernel is then frozen; its bias still learns."""

from collections.abc import Iterable
from typing import Any

import numpy as np

EPSILON = 5e-4  # airbench94's; keeps the near-zero eigenvalues from blowing up
SAMPLE_IMAGES = 5000
CHUNK_IMAGES = 500
# Patches are many (one per pixel, each of size * size * channels numbers): images are taken a
# chunk at a time, so that their patches stay within this, however large the images.
PATCH_BYTES = 64 * 2**20
# The sample is read and normalised in chunks of at most this many bytes of float32 pixels:
# on CIFAR-10, all of it at once.
SAMPLE_CHUNK_BYTES = 64 * 2**20


class PatchCovariance:
    """The covariance of every size x size patch (stride 1) of the images added so far."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.channels: int | None = None
        self._sum: np.ndarray | None = None
        self._count = 0

    def add(self, images: np.ndarray) -> None:
        """(N, H, W, C) images, taken a bounded chunk at a time."""
        height, width, channels = images.shape[1:]
        features = self.size * self.size * channels
        if self._sum is None:
            self.channels, self._sum = channels, np.zeros((features, features))
        patches_per_image = (height - self.size + 1) * (width - self.size + 1)
        step = max(1, min(CHUNK_IMAGES, PATCH_BYTES // (patches_per_image * features * 8)))
        for start in range(0, len(images), step):
            patches = _patches(images[start : start + step].astype(np.float64), self.size)
            self._sum += patches.T @ patches
            self._count += len(patches)

    def whitening_kernel(self, epsilon: float = EPSILON) -> np.ndarray:
        """A (size, size, channels, 2 * size * size * channels) kernel."""
        if self._sum is None or self.channels is None or not self._count:
            raise ValueError("A whitening kernel needs at least one image.")
        eigenvalues, eigenvectors = np.linalg.eigh(self._sum / self._count)
        # Largest eigenvalue first, as airbench orders them.
        eigenvalues, eigenvectors = eigenvalues[::-1], eigenvectors[:, ::-1]
        scaled = eigenvectors / np.sqrt(eigenvalues + epsilon)
        filters = scaled.reshape(self.size, self.size, self.channels, -1)
        return np.concatenate([filters, -filters], axis=-1).astype(np.float32)


def whitening_kernel(images: np.ndarray, size: int, epsilon: float = EPSILON) -> np.ndarray:
    """A (size, size, channels, 2 * size * size * channels) kernel from (N, H, W, C) images."""
    covariance = PatchCovariance(size)
    covariance.add(images)
    return covariance.whitening_kernel(epsilon)


def sample_chunk_images(image_shape: tuple[int, ...]) -> int:
    """How many images a chunk of the sample holds (see SAMPLE_CHUNK_BYTES)."""
    return max(1, SAMPLE_CHUNK_BYTES // (int(np.prod(image_shape)) * 4))


def initialize_whitening(layer: Any, chunks: Iterable[np.ndarray]) -> None:
    """Set `layer`'s kernel from the patches of `chunks` of sample images (as the model has
    them just before the layer: normalised) and freeze it."""
    size = layer.kernel.shape[0]
    covariance = PatchCovariance(size)
    for chunk in chunks:
        covariance.add(np.asarray(chunk))
    kernel = covariance.whitening_kernel()
    if kernel.shape != tuple(layer.kernel.shape):
        raise ValueError(
            f"Layer {layer.name!r} has a {tuple(layer.kernel.shape)} kernel; whitening "
            f"{size}x{size} patches of {covariance.channels} channels needs {kernel.shape}."
        )
    layer.kernel.assign(kernel)
    layer.kernel.trainable = False


def _patches(images: np.ndarray, size: int) -> np.ndarray:
    """Every size x size patch (stride 1), flattened in (row, column, channel) order."""
    windows = np.lib.stride_tricks.sliding_window_view(images, (size, size), axis=(1, 2))
    # (N, H', W', C, size, size) -> (N, H', W', size, size, C)
    windows = windows.transpose(0, 1, 2, 4, 5, 3)
    return windows.reshape(-1, size * size * images.shape[-1])
