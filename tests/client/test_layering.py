"""The client stays light: users who only install it get no TensorFlow, FastAPI or server."""

import subprocess
import sys

from devkit.samples import REPO_ROOT


def test_the_client_imports_no_framework_and_no_server_code():
    probe = "import client.cli\nimport sys\nprint(' '.join(sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(result.stdout.split())

    assert {"client.api", "client.events", "client.progress", "httpx", "rich"} <= loaded
    heavy = {"tensorflow", "keras", "jax", "fastapi", "starlette", "sqlalchemy", "numpy"}
    assert not heavy & loaded
    assert not {name for name in loaded if name.split(".")[0] in ("app", "core", "worker")}
