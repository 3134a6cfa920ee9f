"""A dataset decoded to uint8 arrays, saved once as .npz and loaded without pickle."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class DatasetArrays:
    x_train: np.ndarray  # (n, height, width, 3) uint8
    y_train: np.ndarray  # (n,) int32 class indices
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])

    def save(self, path: Path) -> None:
        # Written beside the target and renamed, so a crash never leaves half a file.
        partial = path.with_name(path.name + ".partial.npz")
        np.savez(
            partial,
            x_train=self.x_train,
            y_train=self.y_train,
            x_test=self.x_test,
            y_test=self.y_test,
            class_names=np.array(self.class_names, dtype=np.str_),
        )
        partial.replace(path)

    @classmethod
    def load(cls, path: Path) -> "DatasetArrays":
        with np.load(path, allow_pickle=False) as arrays:
            return cls(
                x_train=arrays["x_train"],
                y_train=arrays["y_train"].astype(np.int32),
                x_test=arrays["x_test"],
                y_test=arrays["y_test"].astype(np.int32),
                class_names=[str(name) for name in arrays["class_names"]],
            )
