"""`DataverseEmulator`: the emulator served by uvicorn on loopback, in a background thread."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

from emulators.dataverse.hosting.admin import Admin
from emulators.dataverse.hosting.asgi import EmulatorApp
from emulators.dataverse.hosting.core import EmulatorCore
from emulators.dataverse.hosting.cost_model import CostControl, CostModel, CostModelMiddleware, CostProfile
from tools.local_tls import TlsFiles, generate
from tools.loopback_server import LoopbackServer, is_loopback


class DataverseEmulator(EmulatorCore):
    """See docs/emulator.md. `start()` returns once the socket is listening."""

    _server: LoopbackServer | None = None

    def __init__(
        self,
        *args: Any,
        https: bool = False,
        tls_dir: str | Path | None = None,
        cost_model: CostModel | CostProfile | str | None = None,
        time_compression: float = 1.0,
        dop_hint: int | None = None,
        **kwargs: Any,
    ) -> None:
        """EmulatorCore's arguments, plus `https=True` to serve TLS with a generated CA (`ca_path`) and
        `cost_model="standard"` to charge modelled server time and enforce service protection limits."""
        super().__init__(*args, **kwargs)
        self.costs = CostControl.create(cost_model, time_compression, dop_hint)  # off unless a profile is named
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
            self.tls = generate(self._tls_dir, ca_name="Dataverse emulator test CA")
        return {"ssl_certfile": str(self.tls.cert_path), "ssl_keyfile": str(self.tls.key_path)}

    @property
    def app(self) -> CostModelMiddleware:
        return CostModelMiddleware(EmulatorApp(self, Admin(self).handle), self.costs)

    def start(self, host: str = "127.0.0.1", port: int = 0) -> DataverseEmulator:
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        if not is_loopback(host):
            raise ValueError(f"the emulator serves loopback only; {host!r} is not a loopback address")
        server = LoopbackServer(self.app, host=host, port=port, name="dataverse-emulator",
                                proxy_headers=False, timeout_keep_alive=30, **self._tls_options())
        self._server = server.start()
        return self

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return self._server.port

    def _own_url(self) -> str:
        return self.url

    @property
    def url(self) -> str:
        """The DATAVERSE_URL (the Web API lives under /api/data/v9.2/)."""
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return self._server.url

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/data/v9.2/"

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self.interrupt_waits()
        server.stop()

    def __enter__(self) -> DataverseEmulator:
        return self.start() if self._server is None else self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
