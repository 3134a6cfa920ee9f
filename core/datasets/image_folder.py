"""Image-folder archives: `train/<class>/<image>` and optionally `test/<class>/<image>`.

Every image is decoded once, converted to RGB at one size, into arrays that training reads from
then on, never the JPEGs again. An archive is read twice and never held whole: once to list its
images (folder_listing.py), once to decode each into its row (folder_decoding.py); the arrays
are either in memory, for small archives in tests and benchmarks, or memory maps in a folder,
flushed chunk by chunk, for uploads whatever their size.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.datasets.archives import ArchiveLimits
from core.datasets.arrays import DatasetArrays
from core.datasets.folder_decoding import decode_images
from core.datasets.folder_listing import (
    ArchiveListing,
    Placement,
    layout_problems,
    list_image_folder_archive,
    place_images,
    unusable,
)
from core.errors import InvalidInputError

# Progress is reported, and the rows written so far flushed, at the end of each chunk: after
# this many images and this many seconds, whichever comes later.
CHUNK_IMAGES = 256
CHUNK_SECONDS = 1.0

# Called at the end of each chunk with (images done, images in all).
OnChunk = Callable[[int, int], None]
Allocate = Callable[[Placement, tuple[int, int]], DatasetArrays]


@dataclass
class ImportedDataset:
    arrays: DatasetArrays
    class_counts: dict[str, dict[str, int]]
    test_split: str  # "archive" or "held_out"


def import_image_folder_archive(
    archive: Path,
    limits: ArchiveLimits,
    max_pixels: int,
    max_side: int,
    image_size: tuple[int, int] | None = None,
) -> ImportedDataset:
    """Validate and decode an archive in memory; raise InvalidInputError listing every problem."""
    return _import(archive, limits, max_pixels, max_side, image_size, _in_memory)


def write_image_folder_arrays(
    archive: Path,
    folder: Path,
    limits: ArchiveLimits,
    max_pixels: int,
    max_side: int,
    image_size: tuple[int, int] | None,
    on_chunk: OnChunk,
) -> ImportedDataset:
    """Validate and decode an archive into memory-mapped arrays in `folder` (which must not
    exist yet); raise InvalidInputError listing every problem."""

    def allocate(placement: Placement, size: tuple[int, int]) -> DatasetArrays:
        return DatasetArrays.create(
            folder, placement.class_names, size, placement.y_train, placement.y_test
        )

    return _import(archive, limits, max_pixels, max_side, image_size, allocate, on_chunk)


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


def _import(
    archive: Path,
    limits: ArchiveLimits,
    max_pixels: int,
    max_side: int,
    image_size: tuple[int, int] | None,
    allocate: Allocate,
    on_chunk: OnChunk | None = None,
) -> ImportedDataset:
    if image_size is not None:
        check_image_size(image_size, max_side, max_pixels)
    listing = list_image_folder_archive(archive, limits, max_pixels, max_side, image_size)
    dataset_problems = layout_problems(listing)
    if listing.problems or dataset_problems:
        # Decoded all the same, only to list every problem at once.
        chunks = _Chunks(None, on_chunk, listing.image_count)
        decoding = decode_images(archive, limits, listing, max_pixels, on_image=chunks.image_done)
        raise unusable([listing.problems, decoding], dataset_problems)
    placement = place_images(listing)
    arrays = allocate(placement, _known_size(listing))
    chunks = _Chunks(arrays, on_chunk, listing.image_count)
    into = (placement, arrays)
    decoding = decode_images(archive, limits, listing, max_pixels, into, chunks.image_done)
    if decoding:
        raise unusable([decoding], [])
    too_few = placement.too_few_to_hold_out()
    if too_few is not None:
        raise too_few
    chunks.finish()
    return ImportedDataset(arrays, placement.class_counts(), placement.test_split)


def _known_size(listing: ArchiveListing) -> tuple[int, int]:
    # A listing without problems read at least one image's header.
    assert listing.image_size is not None
    return listing.image_size


def _in_memory(placement: Placement, size: tuple[int, int]) -> DatasetArrays:
    x_train, x_test = (
        np.empty((len(labels), *size, 3), dtype=np.uint8)
        for labels in (placement.y_train, placement.y_test)
    )
    y_train, y_test = placement.y_train, placement.y_test
    return DatasetArrays(x_train, y_train, x_test, y_test, placement.class_names)


class _Chunks:
    """Ends a chunk (flushes the arrays, then reports) once enough images and enough time have
    passed since the last; reports 0 images done at once."""

    def __init__(self, arrays: DatasetArrays | None, on_chunk: OnChunk | None, total: int) -> None:
        self._arrays = arrays
        self._on_chunk = on_chunk
        self._total = total
        self.end(0)

    def image_done(self, done: int, total: int) -> None:
        enough_images = done - self._last_done >= CHUNK_IMAGES
        if enough_images and time.monotonic() - self._last_time >= CHUNK_SECONDS:
            self.end(done)

    def finish(self) -> None:
        if self._last_done != self._total:
            self.end(self._total)

    def end(self, done: int) -> None:
        if self._arrays is not None:
            self._arrays.flush()
        if self._on_chunk is not None:
            self._on_chunk(done, self._total)
        self._last_done, self._last_time = done, time.monotonic()
