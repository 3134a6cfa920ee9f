"""The layering the project relies on: the worker never loads FastAPI, the app loads
TensorFlow only when a prediction needs it."""

import subprocess
import sys
import tomllib

from devkit.samples import REPO_ROOT


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_worker_does_not_import_fastapi():
    loaded = _loaded_after("import worker.loop, worker.training, worker.__main__")

    assert "fastapi" not in loaded and "starlette" not in loaded
    assert "keras" in loaded  # the worker is where training lives


def test_app_does_not_import_tensorflow_until_a_prediction():
    loaded = _loaded_after(
        "from app.main import create_app\n"
        "from core.settings import Settings\n"
        "create_app(Settings(data_dir='/tmp/layout-probe', start_worker=False))"
    )

    assert "fastapi" in loaded
    assert "tensorflow" not in loaded and "keras" not in loaded
    assert "matplotlib" not in loaded  # loaded on the first picture asked for


def test_core_imports_no_framework():
    skipped = {
        "core.gpu_memory",  # moved out by the serving refactor
        "core.tensorflow_env",  # moved out by the serving refactor
        "core.migrations.env",  # Alembic's script: runs only inside Alembic's context
    }
    loaded = _loaded_after(
        "import importlib, pkgutil, core\n"
        "for module in pkgutil.walk_packages(core.__path__, 'core.'):\n"
        f"    if module.name not in {sorted(skipped)!r}:\n"
        "        importlib.import_module(module.name)"
    )

    frameworks = loaded & {"keras", "tensorflow", "fastapi", "starlette"}

    assert "core.datasets.store" in loaded  # the walk reached the modules
    assert frameworks == set()


def test_the_image_copies_every_package_the_project_installs():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    packages = {
        pattern.rstrip("*")
        for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    copied = {
        line.split()[1]
        for line in (REPO_ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ")
    }

    assert packages <= copied, f"the Dockerfile does not copy {sorted(packages - copied)}"
