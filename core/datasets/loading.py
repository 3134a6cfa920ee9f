"""Loading any dataset's arrays by its record, for the worker."""

from pathlib import Path

from core.datasets.arrays import DatasetArrays
from core.datasets.builtin import find_builtin_dataset
from core.settings import Settings
from core.tables import Dataset


def dataset_arrays_path(settings: Settings, dataset_id: str) -> Path:
    return settings.datasets_dir / dataset_id / "arrays.npz"


def load_dataset_arrays(dataset: Dataset, settings: Settings) -> DatasetArrays:
    builtin = find_builtin_dataset(dataset.id)
    if builtin is not None:
        return builtin.load(settings)
    return DatasetArrays.load(dataset_arrays_path(settings, dataset.id))
