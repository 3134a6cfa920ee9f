"""Datasets the service knows without an upload."""

from dataclasses import dataclass

from core.datasets.cifar10 import CLASS_NAMES
from core.tables import Dataset


@dataclass(frozen=True)
class BuiltinDataset:
    id: str
    name: str
    class_names: list[str]
    image_shape: list[int]
    train_per_class: int
    test_per_class: int

    def to_record(self) -> Dataset:
        return Dataset(
            id=self.id,
            name=self.name,
            kind="builtin",
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


BUILTIN_DATASETS = [
    BuiltinDataset(
        id="cifar10",
        name="CIFAR-10",
        class_names=list(CLASS_NAMES),
        image_shape=[32, 32, 3],
        train_per_class=5000,
        test_per_class=1000,
    ),
]
