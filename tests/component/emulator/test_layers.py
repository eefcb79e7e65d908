"""The emulator's three layers import one way: hosting -> webapi -> model (docs/emulator.md#layout).

Every import statement counts, including those under `if TYPE_CHECKING:` and inside functions,
so a cycle cannot hide behind a lazy import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import ROOT

PACKAGE = ROOT / "emulators" / "dataverse"
LAYERS = ("model", "webapi", "hosting")
ALLOWED = {"model": set(), "webapi": {"model"}, "hosting": {"model", "webapi"}}


def imported_layers(source: Path) -> dict[str, list[str]]:
    """The other layers a module imports, each with the imported module names."""
    found: dict[str, list[str]] = {}
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[:2] == ["emulators", "dataverse"] and len(parts) > 2 and parts[2] in LAYERS:
                found.setdefault(parts[2], []).append(name)
    return found


def test_every_module_belongs_to_a_layer():
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in {"__init__.py", "__main__.py"})
    assert loose == [], f"modules outside model/, webapi/, hosting/: {loose}"


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_only_the_layers_below(layer):
    wrong = {}
    for module in sorted((PACKAGE / layer).glob("*.py")):
        for other, names in imported_layers(module).items():
            if other != layer and other not in ALLOWED[layer]:
                wrong[f"{layer}/{module.name}"] = names
    assert wrong == {}, f"{layer} may import only {sorted(ALLOWED[layer]) or 'nothing else'}: {wrong}"


def test_the_checker_sees_an_upward_import(tmp_path):
    """The scan above would catch a model module reaching into the Web API layer."""
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from emulators.dataverse.webapi import api\n")
    assert imported_layers(module) == {"webapi": ["emulators.dataverse.webapi", "emulators.dataverse.webapi.api"]}
