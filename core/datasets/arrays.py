"""A dataset decoded to uint8 arrays.

An uploaded dataset's live in a folder of .npy files, written row by row and read back as
read-only memory maps, so no process ever needs the whole dataset in memory; the built-in
CIFAR-10's cache is one .npz, loaded whole (a few hundred MB). Neither is ever unpickled.
"""

import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.format import open_memmap

ARRAY_NAMES = ("x_train", "y_train", "x_test", "y_test")
CLASS_NAMES_FILE = "class_names.json"


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

    @classmethod
    def create(
        cls,
        folder: Path,
        class_names: list[str],
        image_size: tuple[int, int],
        y_train: np.ndarray,
        y_test: np.ndarray,
    ) -> "DatasetArrays":
        """Arrays in `folder`, their labels written and their images zeros: memory maps that the
        caller fills row by row, flushing as it goes."""
        folder.mkdir(parents=True)
        (folder / CLASS_NAMES_FILE).write_text(json.dumps(class_names))
        y_train, y_test = y_train.astype(np.int32), y_test.astype(np.int32)
        np.save(folder / "y_train.npy", y_train)
        np.save(folder / "y_test.npy", y_test)
        shape = (*image_size, 3)
        x_train, x_test = (
            open_memmap(folder / f"x_{split}.npy", "w+", np.uint8, (len(labels), *shape))
            for split, labels in (("train", y_train), ("test", y_test))
        )
        return cls(x_train, y_train, x_test, y_test, class_names)

    @classmethod
    def load(cls, folder: Path) -> "DatasetArrays":
        """The arrays in `folder` as read-only memory maps: pages are read as they are used."""
        x_train, y_train, x_test, y_test = (
            np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)
            for name in ARRAY_NAMES
        )
        class_names = json.loads((folder / CLASS_NAMES_FILE).read_text())
        return cls(x_train, y_train, x_test, y_test, [str(name) for name in class_names])

    def flush(self) -> None:
        """Write the images filled so far to disk (memory maps only), and map the files afresh:
        the pages written stop counting in this process's memory, which stays at about what one
        chunk of images takes, however large the arrays."""
        for name in ("x_train", "x_test"):
            array = getattr(self, name)
            if isinstance(array, np.memmap) and array.filename is not None:
                array.flush()
                setattr(self, name, np.load(array.filename, mmap_mode="r+"))

    def save_npz(self, path: Path) -> None:
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
    def load_npz(cls, path: Path) -> "DatasetArrays":
        with np.load(path, allow_pickle=False) as arrays:
            return cls(
                x_train=arrays["x_train"],
                y_train=arrays["y_train"].astype(np.int32),
                x_test=arrays["x_test"],
                y_test=arrays["y_test"].astype(np.int32),
                class_names=[str(name) for name in arrays["class_names"]],
            )


def convert_npz_to_folder(npz: Path, folder: Path) -> None:
    """Turn the one .npz that earlier versions saved an upload's arrays in into `folder`, one
    array at a time (each fitted in memory then), and remove the .npz. Safe when several
    processes convert the same dataset at once: each writes a folder of its own, the first one
    renamed wins, and the others find the folder there."""
    partial = folder.with_name(f"{folder.name}.converting-{uuid.uuid4().hex}")
    try:
        partial.mkdir()
        with np.load(npz, allow_pickle=False) as arrays:
            for name in ARRAY_NAMES:
                array = arrays[name]
                labels = name.startswith("y_")
                np.save(partial / f"{name}.npy", array.astype(np.int32) if labels else array)
                del array
            class_names = [str(name) for name in arrays["class_names"]]
        (partial / CLASS_NAMES_FILE).write_text(json.dumps(class_names))
        partial.rename(folder)
        npz.unlink()
    except OSError:
        if not folder.is_dir():
            raise  # not another process's conversion, finished first
    finally:
        shutil.rmtree(partial, ignore_errors=True)
