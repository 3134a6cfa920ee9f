import zipfile

import pytest

from core.datasets.archives import ArchiveLimits
from core.datasets.image_folder import import_image_folder_archive
from core.errors import InvalidInputError, UnsupportedMediaError

LIMITS = ArchiveLimits(max_files=10_000, max_unpacked_bytes=100_000_000, max_file_bytes=10**7)


def _import(path, image_size=None):
    return import_image_folder_archive(path, LIMITS, 40_000_000, 512, image_size)


def test_archive_with_test_folder_decodes_to_arrays(make_archive):
    archive = make_archive(["airplane", "cat", "ship"], train_per_class=20, test_per_class=5)

    imported = _import(archive)

    arrays = imported.arrays
    assert arrays.class_names == ["airplane", "cat", "ship"]
    assert arrays.x_train.shape == (60, 32, 32, 3) and arrays.x_train.dtype.name == "uint8"
    assert arrays.x_test.shape == (15, 32, 32, 3)
    assert sorted(arrays.y_train.tolist()) == [0] * 20 + [1] * 20 + [2] * 20
    assert imported.test_split == "archive"
    assert imported.class_counts["test"] == {"airplane": 5, "cat": 5, "ship": 5}


def test_zip_and_a_wrapping_folder_are_accepted(make_archive, tmp_path):
    archive = make_archive(["cat", "ship"], train_per_class=5, test_per_class=0, suffix=".zip")

    wrapped = tmp_path / "wrapped.zip"
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(wrapped, "w") as target:
        for name in source.namelist():
            target.writestr(f"my-dataset/{name}", source.read(name))

    imported = _import(wrapped)

    assert imported.arrays.class_names == ["cat", "ship"]


def test_without_test_folder_a_fixed_seeded_share_is_held_out(make_archive):
    archive = make_archive(["cat", "ship"], train_per_class=20, test_per_class=0)

    first, second = _import(archive), _import(archive)

    assert first.test_split == "held_out"
    assert first.class_counts["test"] == {"cat": 4, "ship": 4}
    assert first.class_counts["train"] == {"cat": 16, "ship": 16}
    assert (first.arrays.x_test == second.arrays.x_test).all()


def test_images_are_resized_to_the_requested_size(make_archive):
    archive = make_archive(["cat", "ship"], train_per_class=3, test_per_class=1)

    imported = _import(archive, image_size=(24, 16))

    assert imported.arrays.image_shape == (24, 16, 3)


def test_every_problem_is_listed(make_archive):
    archive = make_archive(
        ["cat"],
        train_per_class=3,
        test_per_class=0,
        extra={
            "train/cat/broken.jpg": b"\xff\xd8\xff\xe0 not really",
            "train/stray.jpg": b"x",
            "test/dog/1.jpg": b"x",
        },
    )

    with pytest.raises(InvalidInputError) as raised:
        _import(archive)

    problems = "\n".join(raised.value.problems)
    assert "train/cat/broken.jpg:" in problems
    assert "train/stray.jpg: expected <split>/<class>/<image>" in problems
    assert "Only one class (cat): at least 2 are needed." in problems
    assert "test/dog: a class with no training images" in problems


def test_archive_without_train_folder_is_refused(make_archive):
    archive = make_archive([], train_per_class=0, extra={"images/cat/1.jpg": b"x"})

    with pytest.raises(InvalidInputError) as raised:
        _import(archive)

    assert any("No images under train/<class>/" in p for p in raised.value.problems)


def test_not_an_archive_is_unsupported(tmp_path):
    path = tmp_path / "x.tar.gz"
    path.write_bytes(b"plain text, not gzip")

    with pytest.raises(UnsupportedMediaError):
        _import(path)


def test_too_few_images_to_hold_out_a_test_split_is_refused(make_archive):
    archive = make_archive(["cat", "ship"], train_per_class=2, test_per_class=0)

    with pytest.raises(InvalidInputError, match="Too few images to hold out a test split"):
        _import(archive)


@pytest.mark.parametrize(
    ("image_size", "setting"),
    [((7000, 16), "MAX_DATASET_IMAGE_SIDE (512)"), ((500, 500), "MAX_IMAGE_PIXELS (200000)")],
)
def test_requested_size_over_the_limits_is_refused_before_decoding(tmp_path, image_size, setting):
    # Not even an archive: the size is refused before the file is opened.
    path = tmp_path / "x.tar.gz"
    path.write_bytes(b"not an archive")

    with pytest.raises(InvalidInputError, match="image_size") as raised:
        import_image_folder_archive(path, LIMITS, 200_000, 512, image_size)

    assert setting in raised.value.message
