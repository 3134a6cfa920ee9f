"""Error messages as a service's users see them: without the server's file paths.

A job's error comes from whatever failed in the worker, and exceptions name files by their
absolute paths; anyone with a predict key may read it.
"""

import os
import re
from functools import cache
from pathlib import Path, PurePosixPath

# Two or more components after a slash that follows no word, slash, dot or colon (so the paths
# of URLs are left alone), up to a space, quote, bracket or punctuation.
_ABSOLUTE_PATH = re.compile(
    r"(?<![\w/.:~-])/(?:[^\s'\"`/,;:()<>\[\]{}]+/)+[^\s'\"`/,;:()<>\[\]{}]*"
)


def without_server_paths(message: str, data_dir: Path) -> str:
    """`message` with paths in the data folder written from `DATA_DIR`, which a user may know,
    and any other path on this server cut to its file name. What only looks like a path (an
    API route such as `/jobs/<id>`) is left as it is."""
    root = str(data_dir.resolve())

    def shortened(match: re.Match[str]) -> str:
        path = match.group(0)
        if path == root or path.startswith(f"{root}/"):
            return f"DATA_DIR{path[len(root) :]}"
        if PurePosixPath(path).parts[1] not in _top_folders():
            return path
        return PurePosixPath(path).name or "..."

    return _ABSOLUTE_PATH.sub(shortened, message)


@cache
def _top_folders() -> frozenset[str]:
    return frozenset(os.listdir("/"))
