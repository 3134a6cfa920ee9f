"""The built-in CIFAR-10 loader, fed a real CIFAR-10-format archive made from shared JPEGs.

The downloader fetches it from a file:// URL here, exactly as it fetches the official
archive over HTTPS on a machine with internet access.
"""

import hashlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

from core.datasets import cifar10
from core.datasets.cifar10 import ARCHIVE_NAME, CLASS_NAMES, load_cifar10
from core.errors import DatasetUnavailableError
from core.images import decode_rgb
from devkit.samples import cifar_samples

UNREACHABLE = "http://127.0.0.1:9/cifar-10-python.tar.gz"
PER_BATCH = 2  # images per class in each batch


def _batch(split: str, offset: int) -> dict[bytes, object]:
    pixels, labels = [], []
    for label, name in enumerate(CLASS_NAMES):
        for jpeg in cifar_samples()[split][name][offset : offset + PER_BATCH]:
            pixels.append(decode_rgb(jpeg, (32, 32), 10_000).transpose(2, 0, 1).reshape(-1))
            labels.append(label)
    return {b"data": np.stack(pixels), b"labels": labels}


@pytest.fixture(scope="module")
def cifar_format_archive(tmp_path_factory) -> tuple[Path, str]:
    """A small archive in the official python-pickle layout."""
    path = tmp_path_factory.mktemp("mirror") / ARCHIVE_NAME
    batches = {
        f"cifar-10-batches-py/data_batch_{i}": _batch("train", (i - 1) * 2) for i in range(1, 6)
    }
    batches["cifar-10-batches-py/test_batch"] = _batch("test", 0)
    with tarfile.open(path, "w:gz") as archive:
        for name, batch in batches.items():
            data = pickle.dumps(batch)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def mirrored_archive(cifar_format_archive, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The small archive, with its checksum standing in for the official archive's."""
    archive, sha256 = cifar_format_archive
    monkeypatch.setattr(cifar10, "CIFAR10_SHA256", sha256)
    return archive


def test_downloads_verifies_and_decodes_once(tmp_path, mirrored_archive):
    arrays = load_cifar10(tmp_path, mirrored_archive.as_uri())

    assert arrays.x_train.shape == (100, 32, 32, 3) and arrays.x_train.dtype == np.uint8
    assert arrays.x_test.shape == (20, 32, 32, 3)
    assert arrays.class_names == CLASS_NAMES
    assert np.bincount(arrays.y_train).tolist() == [10] * 10
    assert (tmp_path / "datasets" / ARCHIVE_NAME).exists()
    # Decoded once: later loads need neither the network nor the archive.
    (tmp_path / "datasets" / ARCHIVE_NAME).unlink()
    again = load_cifar10(tmp_path, UNREACHABLE)
    assert (again.x_train == arrays.x_train).all()


def test_a_pre_seeded_archive_works_offline(tmp_path, mirrored_archive):
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / ARCHIVE_NAME).write_bytes(mirrored_archive.read_bytes())

    arrays = load_cifar10(tmp_path, UNREACHABLE)

    assert arrays.x_test.shape == (20, 32, 32, 3)


def test_without_network_or_cache_the_error_says_what_to_do(tmp_path):
    with pytest.raises(DatasetUnavailableError, match=f"place {ARCHIVE_NAME} in"):
        load_cifar10(tmp_path, UNREACHABLE)


def test_a_mirror_serving_another_file_is_refused(tmp_path, cifar_format_archive):
    archive, _ = cifar_format_archive

    with pytest.raises(DatasetUnavailableError, match=f"does not match .*{cifar10.CIFAR10_SHA256}"):
        load_cifar10(tmp_path, archive.as_uri())

    assert not (tmp_path / "cifar10.npz").exists()
