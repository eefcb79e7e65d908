"""What `func azure functionapp publish` would upload: `.funcignore` applied with gitignore rules.

Core Tools packs every file of the project folder that `.funcignore` (gitignore syntax) does
not exclude. The folder is this repository as a developer has it after `make run` and
`make test`: the local host's keys and the emulator's data in `.run/`, `local.settings.json`,
a virtualenv, caches. None of that, no test code and no key may ship; every module that
`function_app.py` imports, at load time or inside a handler, must.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pathspec

from tests.support import ROOT

LOCAL_FILES = [  # what a working copy holds besides the repository's own files
    ".run/keys.json", ".run/dataverse.json", ".run/devhost.log", "local.settings.json", ".env",
    ".venv/lib/python3.11/site-packages/httpx/__init__.py", ".venv/pyvenv.cfg",
    "__pycache__/function_app.cpython-311.pyc", "integration/__pycache__/settings.cpython-311.pyc",
    ".pytest_cache/v/cache/nodeids", ".hypothesis/examples/x", ".ruff_cache/x", "node_modules/x/index.js",
    "deploy/signing.pem", "secrets/app.pfx", "tls.key", ".vscode/settings.json", ".git/config",
]
NEVER_SHIPPED = (".run/", ".venv/", ".git/", "tests/", "emulators/", "devhost/", "tools/", "benchmarks/",
                 "samples/", "docs/", "dynamics/", "node_modules/", ".pytest_cache/", ".hypothesis/")
NEVER_SHIPPED_NAMES = ("local.settings.json", "keys.json", ".env")
NEVER_SHIPPED_SUFFIXES = (".pem", ".key", ".pfx", ".pyc", ".md")


def working_copy() -> list[str]:
    """The repository's files (without .git and local state) plus the local files above."""
    files = set(LOCAL_FILES)
    for folder, dirs, names in os.walk(ROOT):
        rel = Path(folder).relative_to(ROOT)
        dirs[:] = [d for d in dirs if not (rel == Path(".") and d in (".git", ".venv", ".run"))
                   and d not in ("__pycache__", ".pytest_cache", ".hypothesis", "node_modules")]
        files.update((rel / name).as_posix() for name in names)
    return sorted(files)


def uploaded() -> list[str]:
    spec = pathspec.GitIgnoreSpec.from_lines((ROOT / ".funcignore").read_text().splitlines())
    return [path for path in working_copy() if not spec.match_file(path)]


def module_file(name: str) -> Path | None:
    path = ROOT.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def modules_needed(entry: Path) -> set[str]:
    """Every file of this repository that ``entry`` imports, transitively, at any depth in the code."""
    needed: set[str] = set()
    pending = [entry]
    while pending:
        path = pending.pop()
        rel = path.relative_to(ROOT).as_posix()
        if rel in needed:
            continue
        needed.add(rel)
        package = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        if path.name != "__init__.py":
            package = package.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1] if package else []
                    base = ".".join([*parent, base] if base else parent)
                names = [base] + [f"{base}.{alias.name}" for alias in node.names]
            for name in names:
                parts = name.split(".")
                for depth in range(1, len(parts) + 1):  # a package's __init__ runs before its modules
                    found = module_file(".".join(parts[:depth]))
                    if found is not None:
                        pending.append(found)
    return needed


def test_the_package_holds_no_local_state_key_setting_or_test_code() -> None:
    shipped = uploaded()
    leaks = [
        path for path in shipped
        if path.startswith(NEVER_SHIPPED) or Path(path).name in NEVER_SHIPPED_NAMES
        or path.endswith(NEVER_SHIPPED_SUFFIXES) or "/__pycache__/" in f"/{path}"
    ]
    assert leaks == []


def test_the_package_holds_every_module_function_app_needs() -> None:
    needed = modules_needed(ROOT / "function_app.py")
    assert {"function_app.py", "http_api/problems.py", "integration/settings.py", "dataverse/client.py",
            "booking_client/client.py", "http_retry/__init__.py", "integration/schedules/importer.py",
            "entry/composition_root.py", "entry/problems.py", "deferred_exports.py",
            "entra_client/access_tokens.py", "entra_client/on_behalf_of.py", "storage_client/account.py",
            "storage_client/connection.py", "storage_client/identity.py", "background/__init__.py",
            "background/housekeeping.py", "integration/appointments/delivery_records.py"} <= needed
    shipped = set(uploaded())
    assert sorted(needed - shipped) == []
    assert {"host.json", "requirements.txt"} <= shipped


def test_the_product_needs_nothing_that_is_left_out() -> None:
    """The other direction of the same rule: product code never imports emulators, the dev host, tools or tests."""
    needed = modules_needed(ROOT / "function_app.py")
    assert [path for path in needed if path.startswith(NEVER_SHIPPED)] == []


def test_the_rules_really_exclude_by_gitignore_semantics() -> None:
    """The checker itself: a nested test folder and a key deep in a product package are excluded too."""
    spec = pathspec.GitIgnoreSpec.from_lines((ROOT / ".funcignore").read_text().splitlines())
    assert spec.match_file(".run/keys.json") and spec.match_file("integration/tests/x.py")
    assert spec.match_file("dataverse/certs/client.pem")
    assert not spec.match_file("integration/schedules/payload.py")
