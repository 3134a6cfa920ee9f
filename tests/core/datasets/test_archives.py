import io
import tarfile
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from core.datasets.archives import MAX_TAR_HEADER_BYTES, ArchiveLimits, iter_archive_files
from core.errors import InvalidInputError, UnsupportedMediaError
from devkit.hostile_archives import (
    claim_zip_member_size,
    mark_zip_member_encrypted,
    tar_with_pax_header,
    tar_with_zeros,
    zip_with_zeros,
)

ROOMY = ArchiveLimits(max_files=1000, max_unpacked_bytes=10_000_000, max_file_bytes=1_000_000)
# Members far over the per-file limit, but within every other one: only that limit stops them.
FILE_LIMITED = ArchiveLimits(max_files=1000, max_unpacked_bytes=10**12, max_file_bytes=1 << 20)
HUGE = 200_000_000
# Reading a member of HUGE bytes would take more than this; refusing it, far less.
MEMORY_BOUND = 16 << 20


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
        list(
            iter_archive_files(
                archive, ArchiveLimits(max_files=10, max_unpacked_bytes=10**6, max_file_bytes=10**6)
            )
        )


def test_unpacked_size_limit_stops_a_compression_bomb(tmp_path: Path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("train/cat/zeros.jpg", b"\0" * 5_000_000)
    assert path.stat().st_size < 50_000

    with pytest.raises(InvalidInputError, match="unpacks to more than 1000000 bytes"):
        list(
            iter_archive_files(
                path, ArchiveLimits(10, max_unpacked_bytes=1_000_000, max_file_bytes=10**7)
            )
        )


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


def _refusal_and_peak_memory(path: Path, limits: ArchiveLimits) -> tuple[InvalidInputError, int]:
    """The error reading `path` ends with, and the most memory Python held meanwhile."""
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInputError) as raised:
            for _ in iter_archive_files(path, limits):
                pass
        return raised.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("suffix", [".tar.gz", ".zip"])
def test_member_declared_over_the_file_limit_is_refused_unread(tmp_path: Path, suffix: str):
    write = tar_with_zeros if suffix == ".tar.gz" else zip_with_zeros
    archive = write(tmp_path / f"a{suffix}", "train/cat/big.jpg", HUGE)

    error, peak = _refusal_and_peak_memory(archive, FILE_LIMITED)

    assert "train/cat/big.jpg" in error.message
    assert f"{HUGE} bytes" in error.message and "1048576 bytes" in error.message
    assert peak < MEMORY_BOUND


def test_zip_member_holding_more_than_it_declares_is_read_no_further(tmp_path: Path):
    archive = claim_zip_member_size(
        zip_with_zeros(tmp_path / "a.zip", "train/cat/x.jpg", HUGE), 1000
    )

    error, peak = _refusal_and_peak_memory(archive, FILE_LIMITED)

    assert "train/cat/x.jpg" in error.message
    assert peak < MEMORY_BOUND


def test_zip_member_compressed_other_than_deflate_is_refused_unread(tmp_path: Path):
    # bzip2 turns 50 MB of zeros into a few hundred bytes, and Python's zipfile unpacks it whole
    # whatever the declared size, so such members are refused before they are opened.
    bomb = zip_with_zeros(tmp_path / "a.zip", "train/cat/x.jpg", 50_000_000, zipfile.ZIP_BZIP2)
    archive = claim_zip_member_size(bomb, 1000)

    error, peak = _refusal_and_peak_memory(archive, FILE_LIMITED)

    assert error.problems == [
        "train/cat/x.jpg: compressed with bzip2; only stored and deflated entries are read"
    ]
    assert peak < MEMORY_BOUND


def test_oversized_tar_header_is_refused_unread(tmp_path: Path):
    archive = tar_with_pax_header(tmp_path / "a.tar.gz", "train/cat/1.jpg", 50_000_000)

    error, peak = _refusal_and_peak_memory(archive, FILE_LIMITED)

    assert "header" in error.message and f"{MAX_TAR_HEADER_BYTES} bytes" in error.message
    assert peak < MEMORY_BOUND


def test_encrypted_zip_member_is_refused_by_name(tmp_path: Path):
    archive = mark_zip_member_encrypted(zip_with_zeros(tmp_path / "a.zip", "train/cat/x.jpg", 10))

    with pytest.raises(InvalidInputError) as raised:
        list(iter_archive_files(archive, ROOMY))

    assert raised.value.problems == ["train/cat/x.jpg: encrypted entries are refused"]
