"""Datasets the service knows without an upload, each with the function that loads its arrays."""

from collections.abc import Callable
from dataclasses import dataclass

from core.datasets.arrays import DatasetArrays
from core.datasets.cifar10 import CLASS_NAMES, load_cifar10
from core.datasets.status import DatasetStatus
from core.settings import Settings
from core.tables import Dataset


@dataclass(frozen=True)
class BuiltinDataset:
    id: str
    name: str
    class_names: list[str]
    image_shape: list[int]
    train_per_class: int
    test_per_class: int
    load: Callable[[Settings], DatasetArrays]

    def to_record(self) -> Dataset:
        return Dataset(
            id=self.id,
            name=self.name,
            kind="builtin",
            status=DatasetStatus.READY,
            class_names=self.class_names,
            image_shape=self.image_shape,
            train_count=self.train_per_class * len(self.class_names),
            test_count=self.test_per_class * len(self.class_names),
            class_counts={
                "train": dict.fromkeys(self.class_names, self.train_per_class),
                "test": dict.fromkeys(self.class_names, self.test_per_class),
            },
            test_split="builtin",
        )


def _load_cifar10(settings: Settings) -> DatasetArrays:
    return load_cifar10(settings.cache_dir, settings.cifar10_url)


BUILTIN_DATASETS = [
    BuiltinDataset(
        id="cifar10",
        name="CIFAR-10",
        class_names=list(CLASS_NAMES),
        image_shape=[32, 32, 3],
        train_per_class=5000,
        test_per_class=1000,
        load=_load_cifar10,
    ),
]


def find_builtin_dataset(dataset_id: str) -> BuiltinDataset | None:
    return next((dataset for dataset in BUILTIN_DATASETS if dataset.id == dataset_id), None)
