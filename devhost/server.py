"""Running the host on uvicorn: in the foreground (the CLI) or in a background thread (tests).

Settings reach the app as environment variables before ``function_app.py`` is imported, as
under Core Tools, so module-level code sees the same environment as in Azure.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import uvicorn
from azure.functions.decorators.function_app import FunctionRegister

from devhost.asgi import MAX_BODY_BYTES, HostApp
from devhost.cors import CorsPolicy
from devhost.functions import HttpFunction, http_functions, load_http_functions, route_prefix
from devhost.keys import HostKeys
from devhost.local_settings import apply_values, load_local_settings

LOOPBACK = "127.0.0.1"


def thread_count() -> int | None:
    """``PYTHON_THREADPOOL_THREAD_COUNT`` as the worker reads it (unset: the pool's default)."""
    value = os.environ.get("PYTHON_THREADPOOL_THREAD_COUNT", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def uvicorn_config(app: HostApp, port: int = 0) -> uvicorn.Config:
    # access_log off: uvicorn's access line carries the query string, and with it ?code=<key>.
    return uvicorn.Config(app, host=LOOPBACK, port=port, lifespan="on", access_log=False, log_config=None,
                          server_header=False)


class DevHost:
    """The app served over real HTTP on an ephemeral loopback port, for tests and tools.

    ``settings`` are set in the environment over whatever is there (the test means them);
    ``settings_file`` values only where nothing is set, as Core Tools does. ``stop()`` puts
    the environment back. ``keys`` default to fresh random ones (see ``.keys``).
    ``function_app`` serves that app object instead of importing ``function_app.py`` from
    ``app_dir`` (a test builds the app around its own composition root); ``host.json`` is
    still read from ``app_dir``.
    """

    def __init__(
        self, app_dir: str | Path = ".", settings: Mapping[str, str] | None = None, *,
        settings_file: str | Path | None = None, keys: HostKeys | Mapping[str, object] | None = None,
        max_body_bytes: int = MAX_BODY_BYTES, cors: CorsPolicy | None = None,
        function_app: FunctionRegister | None = None,
    ):
        self.app_dir = Path(app_dir).resolve()
        self._function_app = function_app
        self._settings = dict(settings or {})
        self._settings_file = Path(settings_file) if settings_file else None
        self.keys = keys if isinstance(keys, HostKeys) else HostKeys.model_validate(keys or {})
        self._max_body_bytes = max_body_bytes
        self._cors = cors
        self._saved_env: dict[str, str | None] = {}
        self._added_path = False
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._app: HostApp | None = None
        self.url = ""
        self.functions: list[HttpFunction] = []

    def start(self, timeout: float = 10.0) -> DevHost:
        self._apply_environment()
        self._added_path = str(self.app_dir) not in sys.path
        try:
            self.functions = (
                load_http_functions(self.app_dir) if self._function_app is None
                else http_functions(self._function_app, route_prefix(self.app_dir))
            )
        except BaseException:
            self._restore()
            raise
        self._app = HostApp(self.functions, self.keys, cors=self._cors, max_body_bytes=self._max_body_bytes,
                            threads=thread_count())
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted sockets inherit this; without it headers and body go out as two segments and
        # Nagle holds the body for the client's delayed ACK (about 40 ms a request).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((LOOPBACK, 0))
        port = sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn_config(self._app, port))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"devhost-{port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the devhost did not start listening")
            time.sleep(0.01)
        self.url = f"http://{LOOPBACK}:{port}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._app is not None:
            self._app.close()
        self._server = self._thread = self._app = None
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


def serve(app_dir: Path, settings_path: Path, keys: HostKeys, port: int | None) -> int:
    """Serve in the foreground until Ctrl-C; returns the exit code."""
    log = logging.getLogger("devhost")
    local = load_local_settings(settings_path)
    applied = apply_values(local.values)
    log.info("settings: %d value(s) from %s (environment variables already set win)", len(applied), settings_path)
    functions = load_http_functions(app_dir)
    port = port if port is not None else (local.host.local_http_port or 7071)
    app = HostApp(functions, keys, cors=CorsPolicy(local.host.cors_origins, local.host.cors_credentials),
                  threads=thread_count())
    for function in functions:
        methods = ",".join(sorted(function.methods)) if function.methods else "all methods"
        log.info("  %s: [%s] http://%s:%d/%s (%s)", function.name, methods, LOOPBACK, port,
                 function.route.template, function.auth_level)
    server = uvicorn.Server(uvicorn_config(app, port))
    server.run()
    app.close()
    return 0 if server.started else 1
