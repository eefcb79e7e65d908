"""A package's public names, imported from their modules on first use (PEP 562).

A client package lists where each of its public names lives; ``import dataverse.errors``
then stays as light as that one module, and ``from dataverse import DataverseClient``
imports the client (and httpx) only when it is asked for. Standard library only, so both
client packages may use it without depending on each other.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def deferred_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``package``: each name of ``homes`` (name -> module) loads on first use."""
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = namespace[name] = getattr(importlib.import_module(home), name)
        return value

    return __getattr__
