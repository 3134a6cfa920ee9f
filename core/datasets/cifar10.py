"""The built-in CIFAR-10, downloaded once into DATA_DIR/cache.

On a machine with internet access the first job downloads it; on one without, a copy of
`cifar-10-python.tar.gz` placed in DATA_DIR/cache/datasets/ is used (its SHA-256 is checked).
"""

import io
import pickle
import tarfile
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from core.datasets.arrays import DatasetArrays
from core.downloads import fetch_verified
from core.errors import DatasetUnavailableError

ARCHIVE_NAME = "cifar-10-python.tar.gz"
# The official archive's checksum: CIFAR10_URL may name a mirror, which must serve the same file.
CIFAR10_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
CLASS_NAMES = [
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip
TRAIN_BATCHES = [f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "cifar-10-batches-py/test_batch"


def load_cifar10(cache_dir: Path, url: str) -> DatasetArrays:
    decoded = cache_dir / "cifar10.npz"
    if decoded.exists():
        return DatasetArrays.load_npz(decoded)
    arrays = read_cifar10_archive(_fetch_archive(cache_dir, url))
    arrays.save_npz(decoded)
    return arrays


def _fetch_archive(cache_dir: Path, url: str) -> Path:
    try:
        return fetch_verified(url, cache_dir / "datasets" / ARCHIVE_NAME, CIFAR10_SHA256)
    except (OSError, ValueError) as error:
        raise DatasetUnavailableError(
            f"CIFAR-10 could not be downloaded from {url} ({error}). Without internet access, "
            f"place {ARCHIVE_NAME} in {cache_dir / 'datasets'}."
        ) from error


def read_cifar10_archive(path: Path) -> DatasetArrays:
    with tarfile.open(path, "r:gz") as archive:
        train = [_read_batch(archive, name) for name in TRAIN_BATCHES]
        x_test, y_test = _read_batch(archive, TEST_BATCH)
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return DatasetArrays(x_train, y_train, x_test, y_test, list(CLASS_NAMES))


def _read_batch(archive: tarfile.TarFile, name: str) -> tuple[np.ndarray, np.ndarray]:
    member = archive.extractfile(name)
    if member is None:
        raise DatasetUnavailableError(f"{name} is missing from the CIFAR-10 archive.")
    batch = _NumpyOnlyUnpickler(io.BytesIO(member.read()), encoding="bytes").load()
    pixels = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    labels = np.asarray(batch[b"labels"], dtype=np.int32)
    return pixels.transpose(0, 2, 3, 1).copy(), labels


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """CIFAR-10's batches are pickles of numpy arrays; refuse every other global."""

    ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a CIFAR-10 batch")
        return super().find_class(module, name)
