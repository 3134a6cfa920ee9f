"""A dataset's arrays, loaded by its record: a built-in one by its own loader, an uploaded one
as memory maps of the arrays prepared for it."""

import shutil

import numpy as np
import pytest

from core.datasets import builtin
from core.datasets.arrays import DatasetArrays, convert_npz_to_folder
from core.datasets.builtin import BUILTIN_DATASETS, BuiltinDataset
from core.datasets.cifar10 import ARCHIVE_NAME, CIFAR10_SHA256
from core.datasets.loading import dataset_arrays_dir, dataset_dir, load_dataset_arrays
from core.errors import DatasetUnavailableError
from core.settings import Settings
from core.tables import Dataset


def _arrays(class_names: list[str]) -> DatasetArrays:
    images = np.zeros((2, 4, 4, 3), dtype=np.uint8)
    labels = np.arange(2, dtype=np.int32)
    return DatasetArrays(images, labels, images, labels, class_names)


def test_an_uploaded_dataset_loads_its_arrays_as_read_only_memory_maps(settings: Settings):
    labels = np.array([0, 1, 1], dtype=np.int32)
    written = DatasetArrays.create(
        dataset_arrays_dir(settings, "uploaded"), ["a", "b"], (4, 5), labels, labels[:2]
    )
    written.x_train[1] = 7
    written.flush()

    arrays = load_dataset_arrays(Dataset(id="uploaded"), settings)

    assert arrays.class_names == ["a", "b"] and arrays.image_shape == (4, 5, 3)
    for array in (arrays.x_train, arrays.y_train, arrays.x_test, arrays.y_test):
        assert isinstance(array, np.memmap) and not array.flags.writeable
    assert arrays.x_train.dtype == np.uint8 and arrays.y_train.dtype == np.int32
    assert (arrays.x_train[1] == 7).all() and (arrays.x_train[0] == 0).all()
    assert arrays.y_train.tolist() == [0, 1, 1] and arrays.x_test.shape == (2, 4, 5, 3)


def test_arrays_saved_by_earlier_versions_are_converted_on_first_load(settings: Settings):
    saved = dataset_dir(settings, "old") / "arrays.npz"
    saved.parent.mkdir(parents=True)
    before = _arrays(["a", "b"])
    before.x_train[1] = 9
    before.save_npz(saved)

    arrays = load_dataset_arrays(Dataset(id="old"), settings)
    again = load_dataset_arrays(Dataset(id="old"), settings)

    assert isinstance(arrays.x_train, np.memmap)
    assert arrays.class_names == again.class_names == ["a", "b"]
    for name in ("x_train", "y_train", "x_test", "y_test"):
        assert (getattr(arrays, name) == getattr(before, name)).all(), name
    assert (again.x_train == before.x_train).all()
    assert not saved.exists()  # converted once: the folder replaces it
    assert sorted(path.name for path in dataset_dir(settings, "old").iterdir()) == ["arrays"]


def test_a_conversion_that_another_process_finished_first_leaves_its_folder(
    settings: Settings, tmp_path
):
    saved = dataset_dir(settings, "old") / "arrays.npz"
    saved.parent.mkdir(parents=True)
    _arrays(["a", "b"]).save_npz(saved)
    kept = shutil.copy(saved, tmp_path / "copy.npz")
    convert_npz_to_folder(saved, dataset_arrays_dir(settings, "old"))
    shutil.copy(kept, saved)  # a second process looked while the first converted

    convert_npz_to_folder(saved, dataset_arrays_dir(settings, "old"))

    arrays = load_dataset_arrays(Dataset(id="old"), settings)
    assert arrays.class_names == ["a", "b"] and arrays.x_train.shape == (2, 4, 4, 3)
    assert not any(".converting-" in path.name for path in saved.parent.iterdir())


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
