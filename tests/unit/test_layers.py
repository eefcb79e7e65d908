"""The layers' rules, checked on the source: imports point one way, flows never read the
environment, nothing finds a module through ``sys.modules``, error types import cheaply."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ROOT

PRODUCT = ("function_app.py", "http_api", "entry", "background", "integration", "dataverse", "booking_client",
           "entra_client", "http_retry", "storage_client", "deferred_exports.py")
DEV_ONLY = {"emulators", "devhost", "tools", "benchmarks", "tests", "samples"}
# What each layer may import from this repository (anything else is upward or sideways).
ALLOWED = {
    "integration": {"integration", "dataverse", "booking_client", "entra_client", "http_retry", "storage_client",
                    "deferred_exports"},
    "dataverse": {"dataverse", "http_retry", "deferred_exports"},
    "booking_client": {"booking_client", "http_retry", "deferred_exports"},
    "entra_client": {"entra_client"},
    "http_retry": {"http_retry"},
    "storage_client": {"storage_client", "deferred_exports"},
    "deferred_exports": set(),
}
OWN_PACKAGES = {"function_app", "http_api", "entry", "background", *ALLOWED, *DEV_ONLY}


def product_files() -> Iterator[Path]:
    for name in PRODUCT:
        path = ROOT / name
        yield from [path] if path.is_file() else sorted(path.rglob("*.py"))


def imported_packages(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def layer_of(path: Path) -> str:
    return path.relative_to(ROOT).parts[0].removesuffix(".py")


def test_imports_point_one_way_and_product_code_never_imports_dev_code() -> None:
    wrong = []
    for path in product_files():
        layer = layer_of(path)
        for line, package in imported_packages(ast.parse(path.read_text(encoding="utf-8"))):
            if package not in OWN_PACKAGES:
                continue  # standard library or a third-party package
            if package in DEV_ONLY or (layer in ALLOWED and package not in ALLOWED[layer]):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {package}")
    assert wrong == []


def attribute_uses(tree: ast.AST, owner: str, name: str) -> list[int]:
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == name
            and isinstance(node.value, ast.Name) and node.value.id == owner]


def test_no_module_is_found_through_sys_modules_and_flows_never_read_the_environment() -> None:
    found = []
    for path in product_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [f"{path.relative_to(ROOT)}:{n} sys.modules" for n in attribute_uses(tree, "sys", "modules")]
        if layer_of(path) == "integration":
            found += [f"{path.relative_to(ROOT)}:{n} os.{attr}" for attr in ("environ", "getenv")
                      for n in attribute_uses(tree, "os", attr)]
    assert found == []


@pytest.mark.parametrize("module", ["dataverse.errors", "booking_client.errors", "entra_client.errors",
                                    "storage_client.errors", "storage_client.connection", "entry.problems",
                                    "function_app"])
def test_error_types_and_the_app_import_without_httpx_or_pydantic(module: str) -> None:
    code = f"import sys; import {module}; print(sorted({{'httpx', 'pydantic'}} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_app_in_entra_mode_imports_no_jose_msal_or_crypto_when_indexed() -> None:
    """PyJWT, msal, azure-identity and cryptography load on the first entra request, not at cold start."""
    import os

    heavy = "{'jwt', 'msal', 'azure.identity', 'cryptography', 'requests'}"
    code = f"import sys; import function_app; print(sorted({heavy} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "SESSION_AUTH": "entra"}, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_app_with_storage_imports_no_storage_sdk_or_aiohttp_when_indexed() -> None:
    """The storage SDKs and aiohttp load on the first call that uses storage, not at cold start."""
    import os

    heavy = "{'aiohttp', 'azure.storage.blob', 'azure.storage.queue', 'azure.data.tables', 'azure.identity'}"
    code = f"import sys; import function_app; print(sorted({heavy} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "AzureWebJobsStorage": "UseDevelopmentStorage=true"}, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
