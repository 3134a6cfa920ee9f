import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from core.datasets.archives import ArchiveLimits, iter_archive_files
from core.errors import InvalidInputError, UnsupportedMediaError

ROOMY = ArchiveLimits(max_files=1000, max_unpacked_bytes=10_000_000)


def _tar(path: Path, entries: list[tarfile.TarInfo], data: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for info in entries:
            content = data.get(info.name, b"")
            info.size = len(content) if info.isfile() else 0
            archive.addfile(info, io.BytesIO(content) if info.isfile() else None)
    return path


def _file(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def test_regular_files_are_read_in_memory(tmp_path: Path):
    archive = _tar(tmp_path / "a.tar.gz", [_file("train/cat/1.jpg")], {"train/cat/1.jpg": b"x"})

    assert [(str(n), d) for n, d in iter_archive_files(archive, ROOMY)] == [
        ("train/cat/1.jpg", b"x")
    ]


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        (_file("/etc/passwd"), "absolute paths are refused"),
        (_file("train/../../evil.jpg"), "paths with '..' are refused"),
        (_link("train/cat/link.jpg", "/etc/passwd"), "links and special files are refused"),
        (_link("train/cat/hard.jpg", "x", tarfile.LNKTYPE), "links and special files are refused"),
    ],
)
def test_dangerous_tar_entries_are_refused_by_name(tmp_path: Path, entry, reason):
    archive = _tar(tmp_path / "a.tar.gz", [entry], {entry.name: b"x"})

    with pytest.raises(InvalidInputError) as raised:
        list(iter_archive_files(archive, ROOMY))

    assert raised.value.problems == [f"{entry.name}: {reason}"]


def test_zip_with_dot_dot_is_refused(tmp_path: Path):
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("train/cat/1.jpg", b"ok")
        archive.writestr("../outside.jpg", b"bad")

    with pytest.raises(InvalidInputError) as raised:
        list(iter_archive_files(path, ROOMY))

    assert raised.value.problems == ["../outside.jpg: paths with '..' are refused"]


def test_file_count_limit_stops_an_archive_bomb(tmp_path: Path):
    names = [f"train/cat/{i}.jpg" for i in range(11)]
    archive = _tar(tmp_path / "a.tar.gz", [_file(n) for n in names], dict.fromkeys(names, b"x"))

    with pytest.raises(InvalidInputError, match="more than 10 files"):
        list(iter_archive_files(archive, ArchiveLimits(max_files=10, max_unpacked_bytes=10**6)))


def test_unpacked_size_limit_stops_a_compression_bomb(tmp_path: Path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("train/cat/zeros.jpg", b"\0" * 5_000_000)
    assert path.stat().st_size < 50_000

    with pytest.raises(InvalidInputError, match="unpacks to more than 1000000 bytes"):
        list(iter_archive_files(path, ArchiveLimits(max_files=10, max_unpacked_bytes=1_000_000)))


def test_archiver_litter_is_skipped(tmp_path: Path):
    names = ["train/cat/1.jpg", "__MACOSX/train/cat/._1.jpg", "train/.DS_Store"]
    archive = _tar(tmp_path / "a.tar.gz", [_file(n) for n in names], dict.fromkeys(names, b"x"))

    assert [str(n) for n, _ in iter_archive_files(archive, ROOMY)] == ["train/cat/1.jpg"]


def test_not_an_archive_is_unsupported(tmp_path: Path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")

    with pytest.raises(UnsupportedMediaError):
        list(iter_archive_files(path, ROOMY))


def test_truncated_archive_is_refused(tmp_path: Path):
    archive = _tar(
        tmp_path / "a.tar.gz", [_file("train/cat/1.jpg")], {"train/cat/1.jpg": b"x" * 5000}
    )
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])

    with pytest.raises((InvalidInputError, UnsupportedMediaError)):
        list(iter_archive_files(archive, ROOMY))
