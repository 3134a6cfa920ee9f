"""Downloads verified by their SHA-256 before they take a file's place."""

import hashlib

import pytest

from core.downloads import fetch_verified


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "source.bin"
    path.write_bytes(b"the real archive" * 1000)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_corrupt_cached_copy_is_downloaded_again(tmp_path, source):
    path, sha256 = source
    destination = tmp_path / "cache" / "archive.bin"
    destination.parent.mkdir()
    destination.write_bytes(b"cut short")

    assert fetch_verified(path.as_uri(), destination, sha256) == destination

    assert destination.read_bytes() == path.read_bytes()


def test_a_file_with_another_checksum_leaves_nothing_behind(tmp_path, source):
    path, _ = source
    destination = tmp_path / "cache" / "archive.bin"

    with pytest.raises(ValueError, match="does not match"):
        fetch_verified(path.as_uri(), destination, "0" * 64)

    assert list(destination.parent.iterdir()) == []
