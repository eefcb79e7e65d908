"""An ASGI app served by uvicorn on a loopback socket, in a background thread (development only).

The Dataverse emulator, the booking sandbox and the devhost all run this way in tests and in
``make run``; the function app itself never imports this module.

TCP_NODELAY, as checked on CPython 3.11-3.13 with uvicorn's default asyncio loop: uvicorn never
sets it. asyncio sets it on every accepted connection (``base_events._set_nodelay``), but only
when the listening socket object was created with ``proto=IPPROTO_TCP``; an accepted socket
copies family, type and proto from the listener's Python object, and ``socket.socket()``
defaults to ``proto=0``. Without it an answer written as two pieces (headers, then body) waits
for the client's delayed ACK: about 40 ms a request on Linux. So the socket is created with
``IPPROTO_TCP`` below, and that is all it takes (tests/component/test_loopback_server.py checks it).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from typing import Any

import uvicorn

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or "localhost"."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"
    return address.is_loopback


def loopback_socket(host: str = LOOPBACK, port: int = 0) -> socket.socket:
    """A listening TCP socket on ``host`` (loopback only); port 0 picks a free one."""
    if not is_loopback(host):
        raise ValueError(f"{host!r} is not a loopback address")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock


class LoopbackServer:
    """``app`` on ``http://127.0.0.1:<port>``; ``start()`` returns once uvicorn is listening.

    ``config`` goes to ``uvicorn.Config`` (defaults: no lifespan, no access log, warnings only).
    """

    def __init__(self, app: Any, *, host: str = LOOPBACK, port: int = 0, name: str = "loopback-http",
                 **config: Any) -> None:
        self.app = app
        self.host = host
        self._requested_port = port
        self._name = name
        self._config = {"log_level": "warning", "lifespan": "off", "access_log": False,
                        "timeout_graceful_shutdown": 1, **config}
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port = 0

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        if not self.port:
            raise RuntimeError("the server is not running; call start() first")
        scheme = "https" if self._config.get("ssl_certfile") else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def start(self, timeout: float = START_TIMEOUT) -> LoopbackServer:
        if self._server is not None:
            raise RuntimeError("the server is already running")
        sock = loopback_socket(self.host, self._requested_port)
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(self.app, **self._config))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"{self._name}-{port}",
                                  daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                thread.join(timeout=STOP_TIMEOUT)
                sock.close()
                raise RuntimeError(f"{self._name} did not start listening")
            time.sleep(0.005)  # polling uvicorn's `started` flag, set by its own thread
        self._server, self._thread, self._socket, self.port = server, thread, sock, port
        return self

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        server, thread, sock = self._server, self._thread, self._socket
        self._server = self._thread = self._socket = None
        self.port = 0
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=timeout)
        if sock is not None:
            sock.close()
