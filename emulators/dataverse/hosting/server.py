"""`DataverseEmulator`: the emulator served by uvicorn on loopback, in a background thread."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from emulators.dataverse.hosting.admin import Admin
from emulators.dataverse.hosting.asgi import EmulatorApp
from emulators.dataverse.hosting.core import EmulatorCore
from emulators.dataverse.hosting.tls import TlsFiles, generate

START_TIMEOUT = 10.0


class DataverseEmulator(EmulatorCore):
    """See docs/emulator.md. `start()` returns once the socket is listening."""

    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    _port: int | None = None

    def __init__(self, *args: Any, https: bool = False, tls_dir: str | Path | None = None, **kwargs: Any) -> None:
        """EmulatorCore's arguments, plus `https=True` to serve TLS with a generated CA (`ca_path`)."""
        super().__init__(*args, **kwargs)
        self.https = https
        self._tls_dir = tls_dir
        self.tls: TlsFiles | None = None

    @property
    def ca_path(self) -> Path:
        """The PEM file of the CA that signed the server certificate: what https clients trust."""
        if self.tls is None:
            raise RuntimeError("the emulator serves https only when created with https=True and started")
        return self.tls.ca_path

    def _tls_options(self) -> dict[str, str]:
        if not self.https:
            return {}
        if self.tls is None:
            self.tls = generate(self._tls_dir)
        return {"ssl_certfile": str(self.tls.cert_path), "ssl_keyfile": str(self.tls.key_path)}

    @property
    def app(self) -> EmulatorApp:
        return EmulatorApp(self, Admin(self).handle)

    def start(self, host: str = "127.0.0.1", port: int = 0) -> DataverseEmulator:
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        if not _is_loopback(host):
            raise ValueError(f"the emulator serves loopback only; {host!r} is not a loopback address")
        # proto=IPPROTO_TCP lets asyncio set TCP_NODELAY on accepted sockets; without it every
        # answer written in two pieces waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(128)
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            proxy_headers=False,
            timeout_graceful_shutdown=1,
            timeout_keep_alive=30,
            **self._tls_options(),
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="dataverse-emulator", daemon=True)
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                sock.close()
                raise RuntimeError("the Dataverse emulator did not start")
            time.sleep(0.005)
        self._server, self._thread = server, thread
        self._host, self._port = host, sock.getsockname()[1]
        return self

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return self._port

    def _own_url(self) -> str:
        return self.url

    @property
    def url(self) -> str:
        """The DATAVERSE_URL (the Web API lives under /api/data/v9.2/)."""
        return f"{'https' if self.https else 'http'}://{self._host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/data/v9.2/"

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self.interrupt_waits()
        server.should_exit = True
        thread.join(timeout=10)
        self._server = self._thread = None
        self._port = None

    def __enter__(self) -> DataverseEmulator:
        return self.start() if self._server is None else self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
