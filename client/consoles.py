"""Where the commands write: `out` (stdout) and `err` (stderr)."""

import os

from rich.console import Console

PIPED_WIDTH = 200


def _console(stderr: bool = False) -> Console:
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = PIPED_WIDTH  # a file or a pipe has no screen to fold lines for
    return console


out = _console()
err = _console(stderr=True)
