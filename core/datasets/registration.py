"""Turning an uploaded archive into a stored, decoded dataset."""

import shutil
import uuid
from pathlib import Path

from core.datasets.archives import ArchiveLimits
from core.datasets.image_folder import import_image_folder_archive
from core.datasets.loading import dataset_arrays_path
from core.datasets.store import DatasetStore
from core.settings import Settings
from core.tables import Dataset


def register_dataset_archive(
    upload: Path,
    filename: str,
    name: str | None,
    image_size: tuple[int, int] | None,
    settings: Settings,
    store: DatasetStore,
) -> Dataset:
    """Decode and validate `upload`, keep it beside its arrays, and record the dataset."""
    dataset_id = uuid.uuid4().hex
    folder = settings.datasets_dir / dataset_id
    folder.mkdir(parents=True)
    try:
        imported = import_image_folder_archive(
            upload,
            ArchiveLimits(
                settings.max_archive_files,
                settings.max_archive_unpacked_bytes,
                settings.max_archive_file_bytes,
            ),
            max_pixels=settings.max_image_pixels,
            max_side=settings.max_dataset_image_side,
            image_size=image_size,
        )
        imported.arrays.save(dataset_arrays_path(settings, dataset_id))
        # The user's archive is kept as given, so the dataset can always be rebuilt.
        shutil.move(upload, folder / f"source{_archive_suffix(filename)}")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    arrays = imported.arrays
    return store.add_dataset(
        Dataset(
            id=dataset_id,
            name=name or Path(filename).name or dataset_id,
            kind="image_folder",
            class_names=arrays.class_names,
            image_shape=list(arrays.image_shape),
            train_count=len(arrays.y_train),
            test_count=len(arrays.y_test),
            class_counts=imported.class_counts,
            test_split=imported.test_split,
            source_filename=filename,
        )
    )


def _archive_suffix(filename: str) -> str:
    lowered = filename.lower()
    for suffix in (".tar.gz", ".tgz", ".tar", ".zip"):
        if lowered.endswith(suffix):
            return suffix
    return ".archive"
