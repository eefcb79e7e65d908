"""The Functions host's own rules, which the worker's indexing does not check.

Sources: azure-functions-host ``Utility.cs`` name patterns (function and binding names), the
built-in ``/admin`` routes that user routes must not shadow, and the valid auth levels.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

FUNCTION_NAME = re.compile(r"^[a-z][a-z0-9_\-]{0,127}$", re.IGNORECASE)
BINDING_NAME = re.compile(r"^(?!.*__)([a-zA-Z_][a-zA-Z0-9_]{0,127}|\$return)$")
AUTH_LEVELS = {"ANONYMOUS", "FUNCTION", "ADMIN"}


def violations(functions: Iterable[dict], route_prefix: str = "api") -> list[str]:
    """Every host rule the indexed functions break, as readable sentences."""
    found: list[str] = []
    seen_routes: dict[tuple[str, str], str] = {}
    for fn in functions:
        name = fn["name"]
        if not FUNCTION_NAME.match(name) or name.lower() == "host":
            found.append(f"{name}: invalid function name")
        for binding in fn["bindings"]:
            if not BINDING_NAME.match(binding["name"]):
                found.append(f"{name}: invalid binding name {binding['name']!r}")
            if binding["type"] != "httpTrigger":
                continue
            route = binding.get("route") or name
            if route.split("/")[0].lower() == "admin" or (route_prefix == "" and route.lower().startswith("admin")):
                found.append(f"{name}: route {route!r} conflicts with the host's built-in /admin routes")
            level = str(binding.get("authLevel", "FUNCTION")).upper()
            if level not in AUTH_LEVELS:
                found.append(f"{name}: unknown authLevel {level!r}")
            for method in binding.get("methods") or ["*"]:
                key = (route.lower(), method.upper())
                if key in seen_routes:
                    found.append(f"{name}: route {route!r} {method} is also served by {seen_routes[key]}")
                seen_routes[key] = name
    return found
