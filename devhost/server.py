"""Running the host on uvicorn: in the foreground (the CLI) or in a background thread (tests).

Settings reach the app as environment variables before ``function_app.py`` is imported, as
under Core Tools, so module-level code sees the same environment as in Azure.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import uvicorn
from azure.functions.decorators.function_app import FunctionRegister

from devhost.asgi import MAX_BODY_BYTES, HostApp
from devhost.background import BackgroundTriggers
from devhost.cors import CorsPolicy
from devhost.functions import (
    AppFunctions,
    HttpFunction,
    QueueFunction,
    TimerFunction,
    index_functions,
    load_functions,
    route_prefix,
)
from devhost.keys import HostKeys
from devhost.local_settings import apply_values, load_local_settings
from devhost.queue_listener import DRAIN_SECONDS
from devhost.queue_options import ListenerVisibility
from tools.loopback_server import LOOPBACK, STOP_TIMEOUT, LoopbackServer


def thread_count() -> int | None:
    """``PYTHON_THREADPOOL_THREAD_COUNT`` as the worker reads it (unset: the pool's default)."""
    value = os.environ.get("PYTHON_THREADPOOL_THREAD_COUNT", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


# access_log off: uvicorn's access line carries the query string, and with it ?code=<key>.
# log_config/log_level None: logging stays as the caller configured it.
UVICORN_OPTIONS = {"lifespan": "on", "access_log": False, "log_config": None, "log_level": None, "server_header": False}


def _no_access_log() -> None:
    """uvicorn writes its access line whenever "uvicorn.access" has a handler; access_log=False
    removes them, but a log capture (pytest's) adds one back. The devhost logs its own line
    (devhost.requests) without the query string, so the access logger is switched off outright."""
    logging.getLogger("uvicorn.access").disabled = True


class DevHost:
    """The app served over real HTTP on an ephemeral loopback port, for tests and tools.

    ``settings`` are set in the environment over whatever is there (the test means them);
    ``settings_file`` values only where nothing is set, as Core Tools does. ``stop()`` puts
    the environment back. ``keys`` default to fresh random ones (see ``.keys``).
    ``function_app`` serves that app object instead of importing ``function_app.py`` from
    ``app_dir`` (a test builds the app around its own composition root); ``host.json`` is
    still read from ``app_dir``. Queue and timer functions run while the host runs;
    ``queue_visibility_seconds`` shortens the listener's 10-minute hide (and its renewal) for
    tests, as ``DEVHOST_QUEUE_VISIBILITY_SECONDS`` does; ``queue_drain_seconds`` bounds how long
    ``stop()`` waits for running queue messages (30 s) before making them visible again.
    """

    def __init__(
        self, app_dir: str | Path = ".", settings: Mapping[str, str] | None = None, *,
        settings_file: str | Path | None = None, keys: HostKeys | Mapping[str, object] | None = None,
        max_body_bytes: int = MAX_BODY_BYTES, cors: CorsPolicy | None = None,
        function_app: FunctionRegister | None = None, queue_visibility_seconds: int | None = None,
        queue_drain_seconds: float = DRAIN_SECONDS,
    ):
        self._drain_seconds = queue_drain_seconds
        self.app_dir = Path(app_dir).resolve()
        self._function_app = function_app
        self._settings = dict(settings or {})
        self._settings_file = Path(settings_file) if settings_file else None
        self.keys = keys if isinstance(keys, HostKeys) else HostKeys.model_validate(keys or {})
        self._max_body_bytes = max_body_bytes
        self._cors = cors
        self._saved_env: dict[str, str | None] = {}
        self._added_path = False
        self._server: LoopbackServer | None = None
        self._app: HostApp | None = None
        self.url = ""
        self._visibility = (ListenerVisibility.shortened(queue_visibility_seconds)
                            if queue_visibility_seconds is not None else None)
        self.functions: list[HttpFunction] = []
        self.queue_functions: list[QueueFunction] = []
        self.timer_functions: list[TimerFunction] = []

    def start(self, timeout: float = 10.0) -> DevHost:
        self._apply_environment()
        self._added_path = str(self.app_dir) not in sys.path
        try:
            indexed = (
                load_functions(self.app_dir) if self._function_app is None
                else index_functions(self._function_app, route_prefix(self.app_dir))
            )
            background = BackgroundTriggers.for_app(self.app_dir, indexed, self._visibility, self._drain_seconds)
        except BaseException:
            self._restore()
            raise
        self.functions, self.queue_functions, self.timer_functions = indexed.http, indexed.queue, indexed.timer
        self._app = HostApp(self.functions, self.keys, cors=self._cors, max_body_bytes=self._max_body_bytes,
                            threads=thread_count(), background=background)
        _no_access_log()
        self._server = LoopbackServer(self._app, name="devhost", **UVICORN_OPTIONS)
        try:
            self._server.start(timeout)
        except BaseException:
            self._server = None
            self.stop()
            raise
        self.url = self._server.url
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(timeout=self._drain_seconds + STOP_TIMEOUT)
        if self._app is not None:
            self._app.close()
        self._server = self._app = None
        self._restore()

    def __enter__(self) -> DevHost:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _apply_environment(self) -> None:
        values = dict(self._settings)
        if self._settings_file is not None:
            file_values = load_local_settings(self._settings_file).values
            values = {**{k: v for k, v in file_values.items() if k not in os.environ}, **values}
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def _restore(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        if self._added_path and str(self.app_dir) in sys.path:
            sys.path.remove(str(self.app_dir))
        self._added_path = False


def serve(app_dir: Path, settings_path: Path, keys: HostKeys, port: int | None,
          queue_visibility_seconds: int | None = None) -> int:
    """Serve in the foreground until Ctrl-C; returns the exit code."""
    log = logging.getLogger("devhost")
    local = load_local_settings(settings_path)
    applied = apply_values(local.values)
    log.info("settings: %d value(s) from %s (environment variables already set win)", len(applied), settings_path)
    indexed: AppFunctions = load_functions(app_dir)
    visibility = (ListenerVisibility.shortened(queue_visibility_seconds)
                  if queue_visibility_seconds is not None else None)
    background = BackgroundTriggers.for_app(app_dir, indexed, visibility)
    functions = indexed.http
    port = port if port is not None else (local.host.local_http_port or 7071)
    app = HostApp(functions, keys, cors=CorsPolicy(local.host.cors_origins, local.host.cors_credentials),
                  threads=thread_count(), background=background)
    for function in functions:
        methods = ",".join(sorted(function.methods)) if function.methods else "all methods"
        log.info("  %s: [%s] http://%s:%d/%s (%s)", function.name, methods, LOOPBACK, port,
                 function.route.template, function.auth_level)
    server = uvicorn.Server(uvicorn.Config(app, host=LOOPBACK, port=port, **UVICORN_OPTIONS))
    _no_access_log()
    server.run()
    app.close()
    return 0 if server.started else 1
