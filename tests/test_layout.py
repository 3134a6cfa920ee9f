"""The layering the project relies on: the worker never loads FastAPI, the app loads
TensorFlow only when a prediction needs it."""

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from devkit.samples import REPO_ROOT


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_worker_does_not_import_fastapi():
    loaded = _loaded_after("import worker.__main__, worker.training_process")

    assert "fastapi" not in loaded and "starlette" not in loaded
    assert "keras" in loaded  # the training process is where training lives


def test_the_worker_leaves_tensorflow_to_its_training_processes():
    loaded = _loaded_after("import worker.__main__")

    assert "worker.loop" in loaded and "worker.preparer" in loaded
    assert "tensorflow" not in loaded and "keras" not in loaded


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


# What the tests and the benchmarks share lives in devkit/, which imports neither of them.
FORBIDDEN_IMPORTS = {
    "benchmarks": {"tests"},
    "tests": {"benchmarks"},
    "devkit": {"tests", "benchmarks"},
}


def _top_level_imports(path: Path) -> set[str]:
    """The top-level packages that a file imports, inside functions too."""
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    return imported


@pytest.mark.parametrize("folder", sorted(FORBIDDEN_IMPORTS))
def test_tests_and_benchmarks_share_code_only_through_devkit(folder):
    offenders = {
        str(path.relative_to(REPO_ROOT)): sorted(forbidden)
        for path in sorted((REPO_ROOT / folder).rglob("*.py"))
        if (forbidden := _top_level_imports(path) & FORBIDDEN_IMPORTS[folder])
    }

    assert offenders == {}, f"{folder}/ imports what it must not: {offenders}"


@pytest.mark.parametrize("module", ["app.export", "app.serving.uploads"])
def test_reading_uploads_and_exporting_do_not_load_the_prediction_engine(module):
    loaded = _loaded_after(f"import {module}")

    assert "app.serving.predictor" not in loaded and "app.serving.model_cache" not in loaded
    assert "app.serving.decoding" not in loaded
