"""Reading the files of an uploaded .tar.gz/.tgz/.zip without extracting it to disk.

Entries are read straight from the archive, so no path in it can reach the file system; links,
devices, absolute paths and `..` are still refused by name, so a user learns what is wrong, and
limits on the number of files and unpacked bytes stop archive bombs. Entries are listed without
being read; one that is read is read whole into memory, so each is checked against a limit of
its own before a byte of it is read.
"""

import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from typing import IO

from core.errors import InvalidInputError, UnsupportedMediaError

IGNORED_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}

# tarfile reads a pax or GNU long-name header whole before it yields the entry it describes;
# an honest one holds a path and a few attributes, far less than this.
MAX_TAR_HEADER_BYTES = 1024 * 1024
TAR_HEADER_TYPES = (
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
)

# zipfile bounds what one read unpacks only for these: a bzip2 or LZMA entry of a few hundred
# bytes can unpack to gigabytes in one read, whatever size it declares.
READABLE_ZIP_COMPRESSION = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}
ZIP_COMPRESSION_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA", 9: "Deflate64"}
ZIP_ENCRYPTED_FLAG = 0x1

NOT_AN_ARCHIVE = "The upload is not a .tar.gz, .tgz, .tar or .zip archive."


@dataclass
class ArchiveLimits:
    max_files: int
    max_unpacked_bytes: int
    max_file_bytes: int


@dataclass
class _Budget:
    limits: ArchiveLimits
    files: int = 0
    unpacked_bytes: int = 0
    refused: list[str] = field(default_factory=list)

    def charge(self, name: str, size: int) -> None:
        """Count an entry by its declared size, before any of it is read."""
        if size > self.limits.max_file_bytes:
            raise InvalidInputError(
                f"{name}: {size} bytes unpacked, over the limit of {self.limits.max_file_bytes} "
                "bytes for one file (MAX_ARCHIVE_FILE_BYTES)."
            )
        self.files += 1
        self.unpacked_bytes += size
        if self.files > self.limits.max_files:
            raise InvalidInputError(
                f"The archive holds more than {self.limits.max_files} files, the limit "
                "(MAX_ARCHIVE_FILES)."
            )
        if self.unpacked_bytes > self.limits.max_unpacked_bytes:
            raise InvalidInputError(
                f"The archive unpacks to more than {self.limits.max_unpacked_bytes} bytes, "
                "the limit (MAX_ARCHIVE_UNPACKED_BYTES)."
            )


@dataclass(frozen=True)
class ArchiveEntry:
    """A regular file of an archive, listed without being read."""

    name: PurePosixPath
    size: int  # as declared: charged against the limits before any of it is read
    _open: Callable[[], IO[bytes]]
    _raw_name: str

    def read(self) -> bytes:
        """Its content; only while it is the entry last yielded, as archives are read in order."""
        try:
            with self._open() as content:
                return _read_entry(self._raw_name, content, self.size)
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as error:
            raise _corrupt(error) from None


def check_archive_type(path: Path) -> None:
    """Refuse what is not a zip or tar archive, from its first bytes, before keeping it."""
    if not zipfile.is_zipfile(path) and not _is_tarfile(path):
        raise UnsupportedMediaError(NOT_AN_ARCHIVE)


def iter_archive_entries(path: Path, limits: ArchiveLimits) -> Iterator[ArchiveEntry]:
    """Yield each regular file, unread; raise listing refused entries once all are listed."""
    budget = _Budget(limits)
    if zipfile.is_zipfile(path):
        yield from _iter_zip(path, budget)
    elif _is_tarfile(path):
        yield from _iter_tar(path, budget)
    else:
        raise UnsupportedMediaError(NOT_AN_ARCHIVE)
    if budget.refused:
        raise InvalidInputError("The archive has entries the service refuses.", budget.refused)


def iter_archive_files(path: Path, limits: ArchiveLimits) -> Iterator[tuple[PurePosixPath, bytes]]:
    """Yield (relative path, content) of each regular file; raise listing refused entries."""
    for entry in iter_archive_entries(path, limits):
        yield entry.name, entry.read()


class _BoundedTarInfo(tarfile.TarInfo):
    """Refuses an oversized pax or GNU long-name header before tarfile reads it."""

    def _proc_member(self, archive: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in TAR_HEADER_TYPES and self.size > MAX_TAR_HEADER_BYTES:
            raise InvalidInputError(
                f"The archive has a tar header of {self.size} bytes, over the limit of "
                f"{MAX_TAR_HEADER_BYTES} bytes for one header."
            )
        # A private hook of tarfile's, which its stubs leave out.
        return super()._proc_member(archive)  # type: ignore[misc, no-any-return]


def _open_tar(path: Path) -> tarfile.TarFile:
    return tarfile.open(path, "r:*", tarinfo=_BoundedTarInfo)


def _is_tarfile(path: Path) -> bool:
    try:
        with _open_tar(path):
            return True
    except tarfile.TarError:
        return False
    except (EOFError, OSError):
        # A gzip stream cut short: a tar archive, but a broken one.
        return True


def _iter_tar(path: Path, budget: _Budget) -> Iterator[ArchiveEntry]:
    try:
        with _open_tar(path) as archive:
            for member in archive:
                if member.isdir():
                    continue
                name = _checked_name(member.name, budget)
                if name is None:
                    continue
                if not member.isfile():
                    budget.refused.append(f"{member.name}: links and special files are refused")
                    continue
                budget.charge(member.name, member.size)
                if _is_ignored(name):
                    continue
                yield ArchiveEntry(name, member.size, _tar_content(archive, member), member.name)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise _corrupt(error) from None


def _tar_content(archive: tarfile.TarFile, member: tarfile.TarInfo) -> Callable[[], IO[bytes]]:
    def open_member() -> IO[bytes]:
        content = archive.extractfile(member)
        assert content is not None  # a regular file's
        return content

    return open_member


def _iter_zip(path: Path, budget: _Budget) -> Iterator[ArchiveEntry]:
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                name = _checked_name(info.filename, budget)
                if name is None:
                    continue
                if stat.S_ISLNK(info.external_attr >> 16):
                    budget.refused.append(f"{info.filename}: links and special files are refused")
                    continue
                budget.charge(info.filename, info.file_size)
                if _is_ignored(name):
                    continue
                refusal = _unreadable_zip_entry(info)
                if refusal:
                    budget.refused.append(f"{info.filename}: {refusal}")
                    continue
                yield ArchiveEntry(name, info.file_size, partial(archive.open, info), info.filename)
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise _corrupt(error) from None


def _corrupt(error: BaseException) -> InvalidInputError:
    return InvalidInputError(f"The archive is truncated or corrupt: {error}")


def _unreadable_zip_entry(info: zipfile.ZipInfo) -> str | None:
    """Why zipfile cannot read the entry within its declared size, if it cannot."""
    if info.flag_bits & ZIP_ENCRYPTED_FLAG:
        return "encrypted entries are refused"
    if info.compress_type not in READABLE_ZIP_COMPRESSION:
        method = ZIP_COMPRESSION_NAMES.get(info.compress_type, f"method {info.compress_type}")
        return f"compressed with {method}; only stored and deflated entries are read"
    return None


def _read_entry(name: str, content: IO[bytes], declared_size: int) -> bytes:
    # The declared size was charged against the limits; a zip entry's can lie, so no more than
    # one byte past it is ever read.
    data = content.read(declared_size + 1)
    if len(data) > declared_size:
        raise InvalidInputError(f"{name}: larger than its declared size.")
    return data


def _checked_name(raw: str, budget: _Budget) -> PurePosixPath | None:
    name = PurePosixPath(raw.replace("\\", "/"))
    if name.is_absolute() or (name.parts and name.parts[0].endswith(":")):
        budget.refused.append(f"{raw}: absolute paths are refused")
        return None
    if ".." in name.parts:
        budget.refused.append(f"{raw}: paths with '..' are refused")
        return None
    return PurePosixPath(*[part for part in name.parts if part != "."])


def _is_ignored(name: PurePosixPath) -> bool:
    # Folders and files that archiving tools add on their own.
    return name.name in IGNORED_NAMES or name.name.startswith("._") or "__MACOSX" in name.parts
