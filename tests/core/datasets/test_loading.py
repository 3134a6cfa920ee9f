"""A dataset's arrays, loaded by its record: a built-in one by its own loader, an uploaded one
from the arrays saved at upload."""

import numpy as np
import pytest

from core.datasets import builtin
from core.datasets.arrays import DatasetArrays
from core.datasets.builtin import BUILTIN_DATASETS, BuiltinDataset
from core.datasets.cifar10 import ARCHIVE_NAME, CIFAR10_SHA256
from core.datasets.loading import dataset_arrays_path, load_dataset_arrays
from core.errors import DatasetUnavailableError
from core.settings import Settings
from core.tables import Dataset


def _arrays(class_names: list[str]) -> DatasetArrays:
    images = np.zeros((2, 4, 4, 3), dtype=np.uint8)
    labels = np.arange(2, dtype=np.int32)
    return DatasetArrays(images, labels, images, labels, class_names)


def test_an_uploaded_dataset_loads_the_arrays_saved_at_upload(settings: Settings):
    dataset_arrays_path(settings, "uploaded").parent.mkdir(parents=True)
    _arrays(["a", "b"]).save(dataset_arrays_path(settings, "uploaded"))

    arrays = load_dataset_arrays(Dataset(id="uploaded"), settings)

    assert arrays.class_names == ["a", "b"] and arrays.x_train.shape == (2, 4, 4, 3)


def test_a_builtin_dataset_is_loaded_by_its_own_loader(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    loaded_with = []

    def load_tiny(settings: Settings) -> DatasetArrays:
        loaded_with.append(settings)
        return _arrays(["left", "right"])

    tiny = BuiltinDataset("tiny", "Tiny", ["left", "right"], [4, 4, 3], 1, 1, load=load_tiny)
    monkeypatch.setattr(builtin, "BUILTIN_DATASETS", [*BUILTIN_DATASETS, tiny])

    arrays = load_dataset_arrays(tiny.to_record(), settings)

    assert arrays.class_names == ["left", "right"] and loaded_with == [settings]


def test_cifar10_from_a_mirror_is_held_to_the_official_checksum(tmp_path, settings: Settings):
    mirror = tmp_path / "mirror" / ARCHIVE_NAME
    mirror.parent.mkdir()
    mirror.write_bytes(b"not the archive at the official URL")
    settings.cifar10_url = mirror.as_uri()
    cifar10 = next(dataset for dataset in BUILTIN_DATASETS if dataset.id == "cifar10")

    with pytest.raises(DatasetUnavailableError, match=f"from {mirror.as_uri()} .*{CIFAR10_SHA256}"):
        load_dataset_arrays(cifar10.to_record(), settings)
