"""Reading the files of an uploaded .tar.gz/.tgz/.zip without extracting it to disk.

Entries are read straight from the archive, so no path in it can reach the file system; links,
devices, absolute paths and `..` are still refused by name, so a user learns what is wrong, and
limits on the number of files and unpacked bytes stop archive bombs.
"""

import stat
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from core.errors import InvalidInputError, UnsupportedMediaError

IGNORED_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}


@dataclass
class ArchiveLimits:
    max_files: int
    max_unpacked_bytes: int


@dataclass
class _Budget:
    limits: ArchiveLimits
    files: int = 0
    unpacked_bytes: int = 0
    refused: list[str] = field(default_factory=list)

    def charge(self, name: str, size: int) -> None:
        self.files += 1
        self.unpacked_bytes += size
        if self.files > self.limits.max_files:
            raise InvalidInputError(
                f"The archive holds more than {self.limits.max_files} files, the limit."
            )
        if self.unpacked_bytes > self.limits.max_unpacked_bytes:
            raise InvalidInputError(
                f"The archive unpacks to more than {self.limits.max_unpacked_bytes} bytes, "
                "the limit."
            )


def iter_archive_files(path: Path, limits: ArchiveLimits) -> Iterator[tuple[PurePosixPath, bytes]]:
    """Yield (relative path, content) of each regular file; raise listing refused entries."""
    budget = _Budget(limits)
    if zipfile.is_zipfile(path):
        yield from _iter_zip(path, budget)
    elif _is_tarfile(path):
        yield from _iter_tar(path, budget)
    else:
        raise UnsupportedMediaError("The upload is not a .tar.gz, .tgz, .tar or .zip archive.")
    if budget.refused:
        raise InvalidInputError("The archive has entries the service refuses.", budget.refused)


def _is_tarfile(path: Path) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except (EOFError, OSError):
        # A gzip stream cut short: a tar archive, but a broken one.
        return True


def _iter_tar(path: Path, budget: _Budget) -> Iterator[tuple[PurePosixPath, bytes]]:
    try:
        with tarfile.open(path, "r:*") as archive:
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
                content = archive.extractfile(member)
                assert content is not None
                yield name, content.read()
    except (tarfile.TarError, EOFError, OSError) as error:
        raise InvalidInputError(f"The archive is truncated or corrupt: {error}") from None


def _iter_zip(path: Path, budget: _Budget) -> Iterator[tuple[PurePosixPath, bytes]]:
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
                with archive.open(info) as content:
                    # The declared size can lie; never read more than it claims.
                    data = content.read(info.file_size + 1)
                if len(data) > info.file_size:
                    raise InvalidInputError(f"{info.filename}: larger than its declared size.")
                yield name, data
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise InvalidInputError(f"The archive is truncated or corrupt: {error}") from None


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
