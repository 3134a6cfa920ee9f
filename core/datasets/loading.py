"""Where an uploaded dataset's files are, and loading any dataset's arrays by its record."""

from pathlib import Path

from core.datasets.arrays import DatasetArrays, convert_npz_to_folder
from core.datasets.builtin import find_builtin_dataset
from core.settings import Settings
from core.tables import Dataset

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")


def dataset_dir(settings: Settings, dataset_id: str) -> Path:
    return settings.datasets_dir / dataset_id


def dataset_arrays_dir(settings: Settings, dataset_id: str) -> Path:
    """A ready dataset's arrays (core/datasets/arrays.py), renamed into place once complete."""
    return dataset_dir(settings, dataset_id) / "arrays"


def source_archive_path(settings: Settings, dataset_id: str, filename: str) -> Path:
    """The archive a user uploaded, kept as given (`filename`: the name it was uploaded as)."""
    lowered = filename.lower()
    suffix = next((s for s in ARCHIVE_SUFFIXES if lowered.endswith(s)), ".archive")
    return dataset_dir(settings, dataset_id) / f"source{suffix}"


def load_dataset_arrays(dataset: Dataset, settings: Settings) -> DatasetArrays:
    builtin = find_builtin_dataset(dataset.id)
    if builtin is not None:
        return builtin.load(settings)
    folder = dataset_arrays_dir(settings, dataset.id)
    saved_before = folder.with_name("arrays.npz")  # by versions before arrays were folders
    if not folder.is_dir() and saved_before.is_file():
        convert_npz_to_folder(saved_before, folder)
    return DatasetArrays.load(folder)
