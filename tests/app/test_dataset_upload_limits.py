"""Uploads that would cost the service far more than they are worth, and class names that would
be misread later, are refused: by POST /datasets with a 422 that says why, when the request
alone tells (nothing is kept), else by the worker that prepares the upload, which fails it
saying why (nothing decoded is kept, only the archive as it was given)."""

import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from devkit.datasets import upload_prepared_dataset, upload_ready_dataset
from devkit.hostile_archives import tar_with_zeros, zip_with_zeros
from devkit.samples import cifar_samples

FILE_LIMIT = 1 << 20


@pytest.fixture
def limited(settings):
    """A small per-file limit, so a hostile member stays cheap to make."""
    return settings.model_copy(update={"max_archive_file_bytes": FILE_LIMIT})


@pytest.fixture
def limited_client(limited):
    with TestClient(create_app(limited)) as test_client:
        yield test_client


def _upload(client, archive: Path, **fields: str):
    return client.post(
        "/datasets", files={"file": (archive.name, archive.read_bytes())}, data=fields
    )


def _nothing_kept(client, settings) -> bool:
    uploaded = [d for d in client.get("/datasets").json()["data"] if d["kind"] != "builtin"]
    datasets_dir = settings.datasets_dir
    return not uploaded and (not datasets_dir.exists() or not any(datasets_dir.iterdir()))


def _failed(dataset: dict, settings) -> dict:
    """A dataset that failed to be prepared, once sure nothing but its archive was kept."""
    assert dataset["status"] == "failed", dataset
    kept = [path.name for path in (settings.datasets_dir / dataset["id"]).iterdir()]
    assert len(kept) == 1 and kept[0].startswith("source."), kept
    return dataset


def _jpeg() -> bytes:
    return cifar_samples()["train"]["cat"][0]


def test_image_size_over_the_side_limit_is_refused_naming_the_setting(
    client, settings, make_archive
):
    # A usable archive: without the limit, it would be stored at 7000x16 pixels per image.
    archive = make_archive(["cat", "ship"], train_per_class=1, test_per_class=1)

    response = _upload(client, archive, image_size="7000x16")
    wide = _upload(client, archive, image_size="16x513")

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "image_size" in detail and "MAX_DATASET_IMAGE_SIDE" in detail and "512" in detail
    assert wide.status_code == 422 and "MAX_DATASET_IMAGE_SIDE" in wide.json()["detail"]
    assert _nothing_kept(client, settings)


def test_image_size_over_the_pixel_limit_is_refused_naming_the_setting(settings, make_archive):
    roomy_sides = settings.model_copy(
        update={"max_dataset_image_side": 4000, "max_image_pixels": 1_000_000}
    )
    archive = make_archive(["cat", "ship"], train_per_class=1, test_per_class=1)

    with TestClient(create_app(roomy_sides)) as client:
        response = _upload(client, archive, image_size="2000x1000")

        assert response.status_code == 422
        detail = response.json()["detail"]
        assert "image_size" in detail and "MAX_IMAGE_PIXELS" in detail and "1000000" in detail
        assert _nothing_kept(client, roomy_sides)


def test_image_size_is_refused_before_the_upload_is_read(client, settings, tmp_path):
    # Not an archive at all: only a refusal that comes before reading it answers 422, not 415.
    not_an_archive = tmp_path / "x.tar.gz"
    not_an_archive.write_bytes(b"not an archive")

    response = _upload(client, not_an_archive, image_size="7000")

    assert response.status_code == 422 and "MAX_DATASET_IMAGE_SIDE" in response.json()["detail"]


@pytest.mark.parametrize("suffix", [".tar.gz", ".zip"])
def test_member_over_the_file_limit_is_refused_by_name_and_limit(
    limited_client, limited, tmp_path, suffix
):
    write = tar_with_zeros if suffix == ".tar.gz" else zip_with_zeros
    # A real image first: the huge member is what stops the upload, not a lack of images.
    archive = write(
        tmp_path / f"huge{suffix}",
        "train/ship/huge.jpg",
        16 * FILE_LIMIT,
        before={"train/cat/0.jpg": _jpeg()},
    )

    dataset = _failed(upload_prepared_dataset(limited_client, limited, archive), limited)

    detail = dataset["error"]
    assert "train/ship/huge.jpg" in detail
    assert "MAX_ARCHIVE_FILE_BYTES" in detail and f"{FILE_LIMIT} bytes" in detail


def test_zip_member_compressed_with_bzip2_is_refused(client, settings, tmp_path):
    archive = zip_with_zeros(
        tmp_path / "a.zip",
        "train/ship/0.jpg",
        1000,
        zipfile.ZIP_BZIP2,
        before={"train/cat/0.jpg": _jpeg()},
    )

    dataset = _failed(upload_prepared_dataset(client, settings, archive), settings)

    assert any("train/ship/0.jpg: compressed with bzip2" in e for e in dataset["problems"])


def test_class_names_that_could_be_misread_are_refused_each_with_its_reason(
    client, settings, make_archive
):
    bad = {
        "two\nlines": "control",
        "bell\x07": "control",
        " leading": "whitespace",
        "trailing ": "whitespace",
        "x" * 101: "100 characters",
    }
    extra = {f"train/{name}/0.jpg": _jpeg() for name in bad}
    archive = make_archive(["cat", "ship"], train_per_class=2, test_per_class=0, extra=extra)

    dataset = _failed(upload_prepared_dataset(client, settings, archive), settings)

    errors = dataset["problems"]
    for name, reason in bad.items():
        listed = [e for e in errors if e.startswith(f"class {name[:100]!r}")]
        assert len(listed) == 1 and reason in listed[0], (name, errors)
    assert not any("'cat'" in e or "'ship'" in e for e in errors)


def test_class_names_in_any_script_are_accepted(client, settings, make_archive):
    names = ["猫", "café", "x" * 100, "with inner spaces"]
    extra = {f"train/{name}/{i}.jpg": _jpeg() for name in names for i in range(5)}
    archive = make_archive(["cat"], train_per_class=5, test_per_class=0, extra=extra)

    dataset = upload_ready_dataset(client, settings, archive)

    assert dataset["status"] == "ready", dataset
    assert dataset["class_names"] == sorted(["cat", *names])
