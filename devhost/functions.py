"""Index a Functions app the way the Python worker does: its HTTP, queue and timer functions.

The module ``function_app.py`` of the app directory is imported, its one top-level
``FunctionApp`` found and asked for its functions; each trigger's own metadata becomes what
the devhost runs: an HTTP trigger's route, methods and auth level; a queue trigger's queue
name, connection setting and data type; a timer trigger's schedule and run-on-startup flag.
There is no second table to keep in step with the app.
"""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from azure.functions.decorators.function_app import FunctionRegister

from devhost.routes import RouteTemplate

log = logging.getLogger("devhost")

SCRIPT_FILE = "function_app.py"
_module_numbers = itertools.count(1)


class AppLoadError(RuntimeError):
    """The app cannot be indexed; the message says why, like the worker's indexing errors."""


@dataclass(frozen=True)
class HttpFunction:
    """One HTTP-triggered function as the host sees it."""

    name: str
    route: RouteTemplate
    methods: frozenset[str] | None  # None: every method, as when the trigger lists none
    auth_level: str  # "anonymous" | "function" | "admin"
    trigger_arg: str
    handler: Callable[..., Any]

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.handler)

    def allows(self, method: str) -> bool:
        return self.methods is None or method in self.methods


@dataclass(frozen=True)
class QueueFunction:
    """One queue-triggered function: the queue it listens to and the setting naming the account."""

    name: str
    queue_name: str
    connection: str  # the app setting (or ``<name>__`` prefix) with the account; "" = AzureWebJobsStorage
    trigger_arg: str
    data_type: str | None
    handler: Callable[..., Any]

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.handler)


@dataclass(frozen=True)
class TimerFunction:
    """One timer-triggered function: its NCRONTAB schedule."""

    name: str
    schedule: str
    run_on_startup: bool
    trigger_arg: str
    handler: Callable[..., Any]

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.handler)


@dataclass(frozen=True)
class AppFunctions:
    """Everything the devhost runs for one app."""

    http: list[HttpFunction]
    queue: list[QueueFunction]
    timer: list[TimerFunction]


def read_host_json(app_dir: Path) -> dict[str, Any]:
    """The app's host.json as a dict; {} when there is none."""
    host_json = app_dir / "host.json"
    if not host_json.exists():
        return {}
    try:
        document = json.loads(host_json.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise AppLoadError(f"{host_json}: not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise AppLoadError(f"{host_json}: must be a JSON object")
    return document


def route_prefix(app_dir: Path) -> str:
    """``extensions.http.routePrefix`` from host.json; ``api`` when not set."""
    host_json = app_dir / "host.json"
    document = read_host_json(app_dir)
    prefix = document.get("extensions", {}).get("http", {}).get("routePrefix", "api")
    if not isinstance(prefix, str):
        raise AppLoadError(f"{host_json}: extensions.http.routePrefix must be a string")
    return prefix.strip("/")


def import_app_module(app_dir: Path) -> ModuleType:
    """Import ``function_app.py`` with the app directory on ``sys.path``, as the worker does.

    Each call executes the file afresh under its own module name, so one process can host
    several apps (tests do) without one app's module shadowing another's.
    """
    script = app_dir / SCRIPT_FILE
    if not script.is_file():
        raise AppLoadError(f"{script} not found: the app directory must contain {SCRIPT_FILE}")
    if str(app_dir) not in sys.path:
        sys.path.insert(0, str(app_dir))
    name = f"_devhost_function_app_{next(_module_numbers)}"
    spec = importlib.util.spec_from_file_location(name, script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise AppLoadError(f"importing {script} failed: {exc.__class__.__name__}: {exc}") from exc
    return module


def find_function_app(module: ModuleType) -> FunctionRegister:
    """The single top-level FunctionApp of the module (the worker rejects none or several)."""
    apps = [value for value in vars(module).values() if isinstance(value, FunctionRegister)]
    if not apps:
        raise AppLoadError(f"Could not find top level function app instances in {SCRIPT_FILE}.")
    if len(apps) > 1:
        raise AppLoadError(f"More than one FunctionApp instance found in {SCRIPT_FILE}.")
    return apps[0]


def _auth_level(trigger: Any) -> str:
    level = getattr(trigger, "auth_level", None)
    return str(getattr(level, "value", level) or "function").lower()


def _methods(trigger: Any) -> frozenset[str] | None:
    methods = getattr(trigger, "methods", None)
    if not methods:
        return None
    return frozenset(str(getattr(m, "value", m)).upper() for m in methods)


def _enum_text(value: Any) -> str | None:
    value = getattr(value, "value", value)
    return None if value is None else str(value)


def _check_arg(name: str, trigger: Any, handler: Callable[..., Any]) -> None:
    if trigger.name not in inspect.signature(handler).parameters:
        raise AppLoadError(f"function {name}: binding {trigger.name!r} is declared in the decorators "
                           "but is not a parameter of the Python function")


def index_functions(app: FunctionRegister, prefix: str) -> AppFunctions:
    """The app's HTTP (most specific route first), queue and timer functions; other triggers are
    listed and skipped, as are functions with bindings beyond their trigger."""
    # get_functions() records names in functions_bindings and rejects them on a second call
    # (python-worker#1867); start from a clean record so a second host over the same app works.
    app.functions_bindings = None
    http: list[HttpFunction] = []
    queue: list[QueueFunction] = []
    timer: list[TimerFunction] = []
    for function in app.get_functions():
        name = function.get_function_name()
        trigger = function.get_trigger()
        kind = trigger.get_binding_name() if trigger else None
        if kind not in ("httpTrigger", "queueTrigger", "timerTrigger"):
            log.warning("function %s: %s trigger is not served by the devhost", name, kind or "no")
            continue
        extra = [b.name for b in function.get_bindings() if b is not trigger and b.name != "$return"]
        if extra:
            log.warning("function %s: bindings %s are not provided by the devhost; not served", name, extra)
            continue
        handler = function.get_user_function()
        _check_arg(name, trigger, handler)
        if kind == "queueTrigger":
            queue.append(QueueFunction(name=name, queue_name=trigger.queue_name, connection=trigger.connection or "",
                                       trigger_arg=trigger.name, data_type=_enum_text(trigger.data_type),
                                       handler=handler))
            continue
        if kind == "timerTrigger":
            timer.append(TimerFunction(name=name, schedule=trigger.schedule,
                                       run_on_startup=bool(trigger.run_on_startup), trigger_arg=trigger.name,
                                       handler=handler))
            continue
        own_route = (trigger.route or name).strip("/")
        if own_route.lower().split("/")[0] == "admin":
            raise AppLoadError(f"function {name}: route {own_route!r} conflicts with the host's built-in /admin routes")
        route = "/".join(part for part in (prefix, own_route) if part)
        http.append(HttpFunction(
            name=name,
            route=RouteTemplate.compile(route),
            methods=_methods(trigger),
            auth_level=_auth_level(trigger),
            trigger_arg=trigger.name,
            handler=handler,
        ))
    http.sort(key=lambda f: (f.route.precedence, f.route.template))
    return AppFunctions(http, queue, timer)


def http_functions(app: FunctionRegister, prefix: str) -> list[HttpFunction]:
    """The app's HTTP functions, most specific route first."""
    return index_functions(app, prefix).http


def load_functions(app_dir: Path) -> AppFunctions:
    app_dir = app_dir.resolve()
    prefix = route_prefix(app_dir)
    app = find_function_app(import_app_module(app_dir))
    try:
        return index_functions(app, prefix)
    except ValueError as exc:
        raise AppLoadError(f"indexing {app_dir / SCRIPT_FILE} failed: {exc}") from exc


def load_http_functions(app_dir: Path) -> list[HttpFunction]:
    return load_functions(app_dir).http
