"""Python run in a fresh process: a backend or device set-up that cannot change once a process
has started (Keras' backend, TensorFlow's logical devices, JAX's device count)."""

import json
import os
import subprocess
import sys
from typing import Any

from devkit.samples import REPO_ROOT


def run_script(code: str, *args: str, timeout: float = 600, **env: str) -> dict[str, Any]:
    """Run `code` with `args` and `env` added to this process's; return the JSON object its
    last line of output prints."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
