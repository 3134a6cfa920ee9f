"""Fetching a file whose SHA-256 is known, once, into a cache folder."""

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

CHUNK_BYTES = 1 << 20
TIMEOUT_SECONDS = 60


def fetch_verified(url: str, destination: Path, sha256: str) -> Path:
    """`destination`, downloaded from `url` (http, https or file) unless a copy with the right
    checksum is already there. Written under a temporary name and renamed once verified, so an
    interrupted download never leaves a file that looks complete."""
    if destination.exists() and _sha256_of(destination) == sha256:
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=destination.parent, prefix=".download-")
    try:
        digest = hashlib.sha256()
        with (
            os.fdopen(handle, "wb") as file,
            urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response,
        ):
            while chunk := response.read(CHUNK_BYTES):
                digest.update(chunk)
                file.write(chunk)
        if digest.hexdigest() != sha256:
            raise ValueError(f"its SHA-256 {digest.hexdigest()} does not match {sha256}")
        os.replace(temporary, destination)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return destination


def _sha256_of(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()
