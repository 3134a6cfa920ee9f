import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.samples import REPO_ROOT
from models.backend import DEFAULTS, apply_tensorflow_defaults

# Imports what the entry point imports, then reports whether TensorFlow runs its oneDNN kernels.
ONEDNN_IN = """
import json, sys
entry = sys.argv[1]
if entry == "app":
    from app.main import create_app
    from core.settings import Settings
    create_app(Settings(data_dir=sys.argv[2], _env_file=None))
else:
    import worker.training_process
from tensorflow.python.util import _pywrap_util_port
print(json.dumps(_pywrap_util_port.IsMklEnabled()))
"""


def test_fills_in_what_the_environment_does_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    apply_tensorflow_defaults()
    assert os.environ["TF_ENABLE_ONEDNN_OPTS"] == DEFAULTS["TF_ENABLE_ONEDNN_OPTS"] == "1"
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"  # the user's choice stands


def _onednn_enabled(entry: str, tmp_path: Path, **env: str) -> bool:
    environment = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    done = subprocess.run(
        [sys.executable, "-c", ONEDNN_IN, entry, str(tmp_path)],
        cwd=REPO_ROOT,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("entry", ["app", "training_process"])
def test_the_service_runs_tensorflow_with_onednn_unless_told_not_to(
    entry: str, tmp_path: Path
) -> None:
    assert _onednn_enabled(entry, tmp_path) is True
    assert _onednn_enabled(entry, tmp_path, TF_ENABLE_ONEDNN_OPTS="0") is False
