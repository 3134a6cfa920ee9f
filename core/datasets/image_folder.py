"""Image-folder archives: `train/<class>/<image>` and optionally `test/<class>/<image>`.

Every image is decoded once at upload, converted to RGB at one size, and the arrays are saved;
training never touches the JPEGs again.
"""

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from core.datasets.archives import ArchiveLimits, iter_archive_files
from core.datasets.arrays import DatasetArrays
from core.datasets.class_names import class_name_problems
from core.errors import InvalidInputError, ServiceError
from core.images import decode_rgb, open_image

SPLITS = ("train", "test")
HELD_OUT_SHARE = 0.2
HELD_OUT_SEED = 0
MAX_PROBLEMS_LISTED = 50


@dataclass
class ImportedDataset:
    arrays: DatasetArrays
    class_counts: dict[str, dict[str, int]]
    test_split: str  # "archive" or "held_out"


@dataclass
class _Collected:
    images: dict[str, dict[str, list[np.ndarray]]]  # split -> class -> images
    problems: list[str]


def import_image_folder_archive(
    archive: Path,
    limits: ArchiveLimits,
    max_pixels: int,
    max_side: int,
    image_size: tuple[int, int] | None = None,
) -> ImportedDataset:
    """Validate and decode an archive; raise InvalidInputError listing every problem."""
    if image_size is not None:
        check_image_size(image_size, max_side, max_pixels)
    collected = _collect_images(archive, limits, max_pixels, max_side, image_size)
    problems = collected.problems + _layout_problems(collected.images)
    if problems:
        listed = problems[:MAX_PROBLEMS_LISTED]
        if len(problems) > len(listed):
            listed.append(f"... and {len(problems) - len(listed)} more problems")
        raise InvalidInputError("The dataset archive is not usable.", listed)
    return _to_arrays(collected.images)


def check_image_size(image_size: tuple[int, int], max_side: int, max_pixels: int) -> None:
    """Refuse a requested (height, width) over the limits that bound an image's decoded size:
    every image of the dataset is stored at that size, whatever the archive's own images are."""
    height, width = image_size
    invalid = f"Invalid value for `image_size`. Received: {height}x{width}."
    if max(image_size) > max_side:
        raise InvalidInputError(
            f"{invalid} Expected sides of at most {max_side} pixels, the server's "
            f"MAX_DATASET_IMAGE_SIDE ({max_side})."
        )
    if height * width > max_pixels:
        raise InvalidInputError(
            f"{invalid} Expected at most {max_pixels} pixels (height x width), the server's "
            f"MAX_IMAGE_PIXELS ({max_pixels})."
        )


def _collect_images(
    archive: Path,
    limits: ArchiveLimits,
    max_pixels: int,
    max_side: int,
    image_size: tuple[int, int] | None,
) -> _Collected:
    images: dict[str, dict[str, list[np.ndarray]]] = {split: defaultdict(list) for split in SPLITS}
    problems: list[str] = []
    size = image_size
    for name, data in iter_archive_files(archive, limits):
        placement = _place(name)
        if placement is None:
            if _inside_split_folder(name):
                problems.append(f"{name}: expected <split>/<class>/<image>")
            continue
        split, class_name = placement
        try:
            if size is None:
                size = _capped_size(open_image(data, max_pixels).size, max_side)
            images[split][class_name].append(decode_rgb(data, size, max_pixels))
        except ServiceError as error:
            problems.append(f"{name}: {error.message}")
    return _Collected(images, problems)


def _place(name: PurePosixPath) -> tuple[str, str] | None:
    """(split, class) of `[root/]split/class/file`, or None for files outside that layout."""
    parts = name.parts
    for start in (0, 1):  # allow one wrapping folder, as archiving a folder produces
        if len(parts) == start + 3 and parts[start] in SPLITS:
            return parts[start], parts[start + 1]
    return None


def _inside_split_folder(name: PurePosixPath) -> bool:
    return any(part in SPLITS for part in name.parts[:2])


def _capped_size(width_height: tuple[int, int], max_side: int) -> tuple[int, int]:
    width, height = width_height
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(height * scale)), max(1, round(width * scale))


def _layout_problems(images: dict[str, dict[str, list[np.ndarray]]]) -> list[str]:
    train_classes = set(images["train"])
    problems = []
    if not train_classes:
        problems.append("No images under train/<class>/: the archive needs that layout.")
    elif len(train_classes) < 2:
        problems.append(f"Only one class ({', '.join(train_classes)}): at least 2 are needed.")
    for class_name in sorted(set(images["test"]) - train_classes):
        problems.append(f"test/{class_name}: a class with no training images")
    return problems + class_name_problems(sorted(train_classes | set(images["test"])))


def _to_arrays(images: dict[str, dict[str, list[np.ndarray]]]) -> ImportedDataset:
    class_names = sorted(images["train"])
    x_train, y_train = _stack(images["train"], class_names)
    if images["test"]:
        x_test, y_test = _stack(images["test"], class_names)
        test_split = "archive"
    else:
        x_train, y_train, x_test, y_test = _hold_out(x_train, y_train)
        test_split = "held_out"
        if len(y_test) == 0:
            raise InvalidInputError(
                "Too few images to hold out a test split: add a test/<class>/ folder, "
                f"or at least {round(1 / HELD_OUT_SHARE)} training images per class."
            )
    counts = {
        "train": {name: int((y_train == i).sum()) for i, name in enumerate(class_names)},
        "test": {name: int((y_test == i).sum()) for i, name in enumerate(class_names)},
    }
    arrays = DatasetArrays(x_train, y_train, x_test, y_test, class_names)
    return ImportedDataset(arrays, counts, test_split)


def _stack(
    by_class: dict[str, list[np.ndarray]], class_names: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for index, name in enumerate(class_names):
        xs.extend(by_class.get(name, []))
        ys.extend([index] * len(by_class.get(name, [])))
    return np.stack(xs), np.asarray(ys, dtype=np.int32)


def _hold_out(
    x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A fixed, seeded, per-class share of train/ becomes the test split."""
    rng = np.random.default_rng(HELD_OUT_SEED)
    test_mask = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        take = int(len(members) * HELD_OUT_SHARE)
        test_mask[rng.choice(members, size=take, replace=False)] = True
    return x[~test_mask], y[~test_mask], x[test_mask], y[test_mask]
