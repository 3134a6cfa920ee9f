"""Smaller image-folder archives cut from the shared CIFAR-10 one, for benchmarks and pictures."""

import io
import tarfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path


def first_images_archive(
    source: Path, target: Path, train_per_class: int, test_per_class: int
) -> Path:
    """A new archive of the first images of each class in each split, in archive order."""
    with tarfile.open(target, "w:gz") as subset:
        for name, data in first_images(source, train_per_class, test_per_class):
            add_file(subset, name, data)
    return target


def first_images(
    source: Path, train_per_class: int, test_per_class: int
) -> Iterator[tuple[str, bytes]]:
    """(`split/class/file`, bytes) of the first images of each class in each split, in archive
    order."""
    wanted = {"train": train_per_class, "test": test_per_class}
    taken: Counter[tuple[str, str]] = Counter()
    with tarfile.open(source) as archive:
        for member in archive:
            parts = Path(member.name).parts
            if not member.isfile() or len(parts) < 3 or parts[-3] not in wanted:
                continue
            split, class_name = parts[-3], parts[-2]
            if taken[split, class_name] < wanted[split]:
                taken[split, class_name] += 1
                data = archive.extractfile(member).read()  # type: ignore[union-attr]
                yield f"{split}/{class_name}/{parts[-1]}", data


def add_file(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def first_image(archive: Path, split: str, class_name: str) -> bytes:
    """The bytes of the first image of one class in one split of an image-folder archive."""
    with tarfile.open(archive, "r:gz") as images:
        for member in images:
            parts = Path(member.name).parts
            if member.isfile() and parts[-3:-1] == (split, class_name):
                return images.extractfile(member).read()  # type: ignore[union-attr]
    raise FileNotFoundError(f"no {split}/{class_name}/ image in {archive}")
