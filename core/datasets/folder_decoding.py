"""The second pass over an image-folder archive: each image decoded at the listing's size into
its row of the arrays, one at a time, so memory holds one image whatever the archive's size."""

from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.datasets.archives import ArchiveLimits, iter_archive_entries
from core.datasets.arrays import DatasetArrays
from core.datasets.folder_listing import TRAIN, ArchiveListing, Placement, Problems, place
from core.errors import ServiceError
from core.images import decode_rgb

# Called after each image with (images done, images in all).
OnImage = Callable[[int, int], None]


def decode_images(
    archive: Path,
    limits: ArchiveLimits,
    listing: ArchiveListing,
    max_pixels: int,
    into: tuple[Placement, DatasetArrays] | None = None,
    on_image: OnImage | None = None,
) -> Problems:
    """Decode every image of the listing, into the arrays at their placement's rows when given,
    else only to learn which cannot be decoded; the problems found."""
    problems = Problems()
    image = -1
    for position, entry in enumerate(iter_archive_entries(archive, limits)):
        if place(entry.name) is None:
            continue
        image += 1
        if image not in listing.unreadable:  # the first pass said why already
            data = entry.read()
            try:
                pixels = decode_rgb(data, listing.image_size, max_pixels)
            except ServiceError as error:
                problems.add(position, f"{entry.name}: {error.message}")
            else:
                if into is not None:
                    _write_row(*into, image, pixels)
        if on_image is not None:
            on_image(image + 1, listing.image_count)
    return problems


def _write_row(placement: Placement, arrays: DatasetArrays, image: int, pixels: np.ndarray) -> None:
    images = arrays.x_train if placement.splits[image] == TRAIN else arrays.x_test
    images[placement.rows[image]] = pixels
