"""Archives built at test time to cost a reader far more than their size: members of many
zero bytes, written and compressed in chunks so the test itself never holds them whole."""

import io
import struct
import tarfile
import zipfile
from pathlib import Path

CHUNK = 1 << 20


class Zeros(io.RawIOBase):
    """A read-only stream of `size` zero bytes."""

    def __init__(self, size: int) -> None:
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self._left)
        buffer[:count] = bytes(count)
        self._left -= count
        return count


def tar_with_zeros(
    path: Path, name: str, size: int, before: dict[str, bytes] | None = None
) -> Path:
    """A .tar.gz whose member `name` is `size` zero bytes, after the small members `before`."""
    with tarfile.open(path, "w:gz", compresslevel=1) as archive:
        for small_name, data in (before or {}).items():
            info = tarfile.TarInfo(small_name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo(name)
        info.size = size
        archive.addfile(info, io.BufferedReader(Zeros(size)))
    return path


def tar_with_pax_header(path: Path, name: str, header_bytes: int) -> Path:
    """A .tar.gz whose one (one-byte) member carries a pax header of about `header_bytes`."""
    with tarfile.open(path, "w:gz", compresslevel=1, format=tarfile.PAX_FORMAT) as archive:
        info = tarfile.TarInfo(name)
        info.pax_headers = {"comment": "a" * header_bytes}
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    return path


def zip_with_zeros(
    path: Path,
    name: str,
    size: int,
    compression: int = zipfile.ZIP_DEFLATED,
    before: dict[str, bytes] | None = None,
) -> Path:
    """A .zip whose last member `name` is `size` zero bytes, honestly declared."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        for small_name, data in (before or {}).items():
            archive.writestr(small_name, data)
        with archive.open(name, "w") as member:
            for offset in range(0, size, CHUNK):
                member.write(bytes(min(CHUNK, size - offset)))
    return path


def claim_zip_member_size(path: Path, claimed: int) -> Path:
    """Make a one-member .zip's headers (local and central) declare `claimed` unpacked bytes,
    whatever its data really holds."""
    data = bytearray(path.read_bytes())
    assert data.count(b"PK\x01\x02") == 1, "one member only"
    struct.pack_into("<I", data, 22, claimed)  # the local header's uncompressed size
    struct.pack_into("<I", data, data.rfind(b"PK\x01\x02") + 24, claimed)  # the central one's
    path.write_bytes(bytes(data))
    return path


def mark_zip_member_encrypted(path: Path) -> Path:
    """Set a one-member .zip's "encrypted" flag (local and central headers); its data stays as
    it is, which is all a reader without the password may look at."""
    data = bytearray(path.read_bytes())
    assert data.count(b"PK\x01\x02") == 1, "one member only"
    for flags_at in (6, data.rfind(b"PK\x01\x02") + 8):
        data[flags_at] |= 0x1
    path.write_bytes(bytes(data))
    return path
