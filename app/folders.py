"""Removing what a deleted record kept on disk."""

import shutil
from pathlib import Path


def remove_folder_within(folder: Path, parent: Path) -> None:
    """Remove `folder` with what it holds, only if it lies directly in `parent`: a record's path
    or id, whatever it holds, never leads the removal elsewhere."""
    if folder.resolve().parent == parent.resolve():
        shutil.rmtree(folder, ignore_errors=True)
