"""Real CIFAR-10 JPEGs from the shared archive, and archives made from them at test time."""

import io
import itertools
import os
import tarfile
import zipfile
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ARCHIVE = REPO_ROOT.parent / "shared" / "datasets" / "cifar10-jpeg.tar.gz"

SampleImages = dict[str, dict[str, list[bytes]]]  # split -> class -> JPEG bytes


def shared_archive() -> Path:
    path = Path(os.environ.get("CIFAR10_JPEG_ARCHIVE", DEFAULT_ARCHIVE))
    if not path.exists():
        raise FileNotFoundError(
            f"The CIFAR-10 JPEG archive is not at {path}; set CIFAR10_JPEG_ARCHIVE."
        )
    return path


@cache
def cifar_samples(per_class_train: int = 60, per_class_test: int = 20) -> SampleImages:
    """The first images of each class and split, read once per test session."""
    wanted = {"train": per_class_train, "test": per_class_test}
    samples: SampleImages = {"train": {}, "test": {}}
    with tarfile.open(shared_archive(), "r:gz") as archive:
        for member in archive:
            parts = Path(member.name).parts
            if not member.isfile() or len(parts) < 3:
                continue
            split, class_name = parts[-3], parts[-2]
            if split not in wanted:
                continue
            images = samples[split].setdefault(class_name, [])
            if len(images) < wanted[split]:
                images.append(archive.extractfile(member).read())  # type: ignore[union-attr]
    return samples


def write_image_folder_archive(
    path: Path,
    classes: list[str],
    train_per_class: int,
    test_per_class: int = 0,
    extra: dict[str, bytes] | None = None,
) -> Path:
    """Write `train/<class>/<n>.jpg` (and `test/...`) from real CIFAR-10 images; past the
    samples read (60 train, 20 test per class), images repeat, to make longer epochs."""
    samples = cifar_samples()
    entries: dict[str, bytes] = {}
    for class_name in classes:
        for split, count in (("train", train_per_class), ("test", test_per_class)):
            images = itertools.islice(itertools.cycle(samples[split][class_name]), count)
            for i, data in enumerate(images):
                entries[f"{split}/{class_name}/{i:04d}.jpg"] = data
    entries.update(extra or {})
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in entries.items():
                archive.writestr(name, data)
    else:
        with tarfile.open(path, "w:gz") as archive:
            for name, data in entries.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return path
