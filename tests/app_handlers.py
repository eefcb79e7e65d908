"""The app's handlers as the host calls them, built around a test's own composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import azure.functions as func

if TYPE_CHECKING:
    from entry.composition_root import CompositionRoot

Handler = Callable[..., Awaitable[func.HttpResponse]]


def app_handler(root: CompositionRoot, function_name: str) -> Handler:
    """The function ``function_name`` of the app that ``function_app.py`` builds, served with ``root``."""
    from http_api import build_app

    app = build_app(root)
    for function in app.get_functions():
        if function.get_function_name() == function_name:
            return function.get_user_function()
    raise LookupError(f"the app has no function {function_name!r}")
