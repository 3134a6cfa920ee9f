"""An image-folder archive decoded the way the service decodes uploads, cached as .npz."""

import contextlib
from pathlib import Path

from core.datasets.archives import ArchiveLimits
from core.datasets.arrays import DatasetArrays
from core.datasets.image_folder import import_image_folder_archive


def load_arrays(archive: Path, cache: Path | None) -> DatasetArrays:
    cache = cache or archive.with_name(archive.name + ".arrays.npz")
    if cache.exists():
        return DatasetArrays.load_npz(cache)
    imported = import_image_folder_archive(
        archive, ArchiveLimits(10_000_000, 2**40, 2**30), max_pixels=10**8, max_side=512
    )
    # In a read-only folder the archive is simply decoded again next time.
    with contextlib.suppress(OSError):
        imported.arrays.save_npz(cache)
    return imported.arrays
