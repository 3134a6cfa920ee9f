"""Loading any dataset's arrays by its record, for the worker."""

from pathlib import Path

from core.datasets.arrays import DatasetArrays
from core.datasets.cifar10 import load_cifar10
from core.settings import Settings
from core.tables import Dataset


def dataset_arrays_path(settings: Settings, dataset_id: str) -> Path:
    return settings.datasets_dir / dataset_id / "arrays.npz"


def load_dataset_arrays(dataset: Dataset, settings: Settings) -> DatasetArrays:
    if dataset.id == "cifar10":
        return load_cifar10(settings.cache_dir, settings.cifar10_url, settings.cifar10_sha256)
    return DatasetArrays.load(dataset_arrays_path(settings, dataset.id))
