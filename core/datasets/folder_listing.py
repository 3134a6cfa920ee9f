"""The first pass over an image-folder archive: where each image goes, without decoding one.

The layout is `[root/]train/<class>/<image>` and optionally `test/<class>/<image>`. Listing
reads entries' names and declared sizes, and the first image's header when the image size is
the first image's; the row each image takes in the arrays is decided from the listing alone,
so the second pass (folder_decoding.py) decodes each image straight into its row.
"""

from array import array
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from core.datasets.archives import ArchiveLimits, iter_archive_entries
from core.datasets.class_names import class_name_problems
from core.errors import InvalidInputError, ServiceError
from core.images import open_image

SPLITS = ("train", "test")
TRAIN, TEST = 0, 1
HELD_OUT_SHARE = 0.2
HELD_OUT_SEED = 0
MAX_PROBLEMS_LISTED = 50


class Problems:
    """Problems with an archive's entries: the first few kept with the entry's position in the
    archive, all of them counted, so a broken archive of a million files costs little."""

    def __init__(self) -> None:
        self.listed: list[tuple[int, str]] = []
        self.count = 0

    def add(self, position: int, problem: str) -> None:
        self.count += 1
        if len(self.listed) < MAX_PROBLEMS_LISTED:  # each pass meets positions in order
            self.listed.append((position, problem))

    def __bool__(self) -> bool:
        return self.count > 0


def unusable(entry_problems: list[Problems], dataset_problems: list[str]) -> InvalidInputError:
    """One error listing the entries' problems in archive order, then the dataset's own."""
    merged = sorted(pair for problems in entry_problems for pair in problems.listed)
    problems = [problem for _, problem in merged] + dataset_problems
    total = sum(problems.count for problems in entry_problems) + len(dataset_problems)
    listed = problems[:MAX_PROBLEMS_LISTED]
    if total > len(listed):
        listed.append(f"... and {total - len(listed)} more problems")
    return InvalidInputError("The dataset archive is not usable.", listed)


@dataclass
class ArchiveListing:
    """What the first pass learned. Images are the entries at `split/class/file`, numbered in
    archive order; per image, one byte and one integer, however large the images."""

    image_size: tuple[int, int] | None  # (height, width); None if no image could be read
    splits: np.ndarray  # per image: TRAIN or TEST
    classes: np.ndarray  # per image: its folder's index in `folders`
    folders: list[str]  # class folder names, in the order first met
    unreadable: set[int]  # images whose header could not be read when the size was sought
    problems: Problems

    @property
    def image_count(self) -> int:
        return len(self.splits)

    def class_names(self, split: int) -> set[str]:
        return {self.folders[index] for index in np.unique(self.classes[self.splits == split])}


def list_image_folder_archive(
    archive: Path,
    limits: ArchiveLimits,
    max_pixels: int,
    max_side: int,
    image_size: tuple[int, int] | None,
) -> ArchiveListing:
    """List the archive's images and the problems found without decoding them."""
    splits, classes = array("B"), array("I")
    folders: dict[str, int] = {}
    unreadable: set[int] = set()
    problems = Problems()
    size = image_size
    for position, entry in enumerate(iter_archive_entries(archive, limits)):
        placement = place(entry.name)
        if placement is None:
            if _inside_split_folder(entry.name):
                problems.add(position, f"{entry.name}: expected <split>/<class>/<image>")
            continue
        split, folder = placement
        image = len(splits)
        splits.append(split)
        classes.append(folders.setdefault(folder, len(folders)))
        if size is None:
            data = entry.read()
            try:
                size = _capped_size(open_image(data, max_pixels).size, max_side)
            except ServiceError as error:
                problems.add(position, f"{entry.name}: {error.message}")
                unreadable.add(image)
    return ArchiveListing(
        size,
        np.frombuffer(splits, dtype=np.uint8),
        np.frombuffer(classes, dtype=np.uintc),
        list(folders),
        unreadable,
        problems,
    )


def place(name: PurePosixPath) -> tuple[int, str] | None:
    """(split, class) of `[root/]split/class/file`, or None for files outside that layout."""
    parts = name.parts
    for start in (0, 1):  # allow one wrapping folder, as archiving a folder produces
        if len(parts) == start + 3 and parts[start] in SPLITS:
            return SPLITS.index(parts[start]), parts[start + 1]
    return None


def _inside_split_folder(name: PurePosixPath) -> bool:
    return any(part in SPLITS for part in name.parts[:2])


def _capped_size(width_height: tuple[int, int], max_side: int) -> tuple[int, int]:
    width, height = width_height
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(height * scale)), max(1, round(width * scale))


def layout_problems(listing: ArchiveListing) -> list[str]:
    train_classes = listing.class_names(TRAIN)
    test_classes = listing.class_names(TEST)
    problems = []
    if not train_classes:
        problems.append("No images under train/<class>/: the archive needs that layout.")
    elif len(train_classes) < 2:
        problems.append(f"Only one class ({', '.join(train_classes)}): at least 2 are needed.")
    for class_name in sorted(test_classes - train_classes):
        problems.append(f"test/{class_name}: a class with no training images")
    return problems + class_name_problems(sorted(train_classes | test_classes))


@dataclass
class Placement:
    """Where each image of a usable listing goes: its split and its row there (classes in name
    order, each class's images in archive order, as the arrays have always been laid out)."""

    class_names: list[str]
    test_split: str  # "archive": the archive's test/ folder; "held_out": a share of train/
    splits: np.ndarray  # per image: TRAIN or TEST, once a test split is held out
    rows: np.ndarray  # per image: its row in its split's arrays
    y_train: np.ndarray  # int32 class indices, row by row
    y_test: np.ndarray

    def class_counts(self) -> dict[str, dict[str, int]]:
        return {
            split: {name: int((labels == i).sum()) for i, name in enumerate(self.class_names)}
            for split, labels in (("train", self.y_train), ("test", self.y_test))
        }

    def too_few_to_hold_out(self) -> InvalidInputError | None:
        if self.test_split != "held_out" or len(self.y_test) > 0:
            return None
        return InvalidInputError(
            "Too few images to hold out a test split: add a test/<class>/ folder, "
            f"or at least {round(1 / HELD_OUT_SHARE)} training images per class."
        )


def place_images(listing: ArchiveListing) -> Placement:
    """The rows of a listing without problems."""
    class_names = sorted(listing.class_names(TRAIN))
    label_of_folder = np.array(
        [class_names.index(name) if name in class_names else -1 for name in listing.folders],
        dtype=np.int32,
    )
    labels = label_of_folder[listing.classes]
    splits = listing.splits.copy()
    rows = np.empty(listing.image_count, dtype=np.int64)
    in_row_order = {}
    for split in (TRAIN, TEST):
        members = np.flatnonzero(splits == split)
        in_row_order[split] = members[np.argsort(labels[members], kind="stable")]
        rows[in_row_order[split]] = np.arange(len(members))
    y_train, y_test = labels[in_row_order[TRAIN]], labels[in_row_order[TEST]]
    test_split = "archive"
    if len(y_test) == 0:
        test_split = "held_out"
        held_out = _held_out_mask(y_train)
        taken, kept = in_row_order[TRAIN][held_out], in_row_order[TRAIN][~held_out]
        splits[taken] = TEST
        rows[taken] = np.arange(len(taken))
        rows[kept] = np.arange(len(kept))
        y_train, y_test = y_train[~held_out], y_train[held_out]
    return Placement(class_names, test_split, splits, rows, y_train, y_test)


def _held_out_mask(y: np.ndarray) -> np.ndarray:
    """A fixed, seeded, per-class share of train/, which becomes the test split."""
    rng = np.random.default_rng(HELD_OUT_SEED)
    test_mask = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        take = int(len(members) * HELD_OUT_SHARE)
        test_mask[rng.choice(members, size=take, replace=False)] = True
    return test_mask
