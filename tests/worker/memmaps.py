"""Datasets as a prepared upload stores them: .npy files opened as read-only memory maps."""

from pathlib import Path

import numpy as np
from numpy.lib.format import open_memmap

from core.datasets.arrays import DatasetArrays


def memmapped(folder: Path, name: str, values: np.ndarray) -> np.ndarray:
    """`values` written to `folder/name.npy` and opened read-only."""
    path = folder / f"{name}.npy"
    written = open_memmap(path, mode="w+", dtype=values.dtype, shape=values.shape)
    written[:] = values
    written.flush()
    del written
    return np.load(path, mmap_mode="r")


def memmapped_arrays(arrays: DatasetArrays, folder: Path) -> DatasetArrays:
    folder.mkdir(parents=True, exist_ok=True)
    splits = {
        name: memmapped(folder, name, getattr(arrays, name))
        for name in ("x_train", "y_train", "x_test", "y_test")
    }
    return DatasetArrays(**splits, class_names=arrays.class_names)


def open_memmapped_arrays(folder: Path, class_names: list[str]) -> DatasetArrays:
    """What `memmapped_arrays` wrote, opened again (in another process)."""
    splits = {
        name: np.load(folder / f"{name}.npy", mmap_mode="r")
        for name in ("x_train", "y_train", "x_test", "y_test")
    }
    return DatasetArrays(**splits, class_names=class_names)
