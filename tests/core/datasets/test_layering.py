"""The modules of core.datasets import one another only downwards, as the package says."""

import ast
import re

import core.datasets
from devkit.samples import REPO_ROOT

PACKAGE = REPO_ROOT / "core" / "datasets"


def _documented_layers() -> list[set[str]]:
    """The package docstring's `top | ... | bottom` lines, as sets of module names."""
    layers = (core.datasets.__doc__ or "").split("below its own:\n", 1)[1]
    return [set(re.findall(r"\w+", layer)) for layer in layers.split("|")]


def _imported_siblings(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    prefix = "core.datasets."
    return {name.removeprefix(prefix).split(".")[0] for name in names if name.startswith(prefix)}


def test_every_module_has_a_documented_layer():
    modules = {path.stem for path in PACKAGE.glob("*.py")} - {"__init__"}

    assert set().union(*_documented_layers()) == modules


def test_modules_import_only_from_layers_below_their_own():
    layers = _documented_layers()
    for depth, layer in enumerate(layers):
        below = set().union(*layers[depth + 1 :])
        for module in layer:
            assert _imported_siblings(module) <= below, f"{module} imports from its layer or above"
