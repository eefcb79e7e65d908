"""`DataverseEmulator`: the emulator served by uvicorn on loopback, in a background thread."""

from __future__ import annotations

from types import TracebackType

from emulators.dataverse.admin import Admin
from emulators.dataverse.asgi import EmulatorApp
from emulators.dataverse.core import EmulatorCore
from tools.loopback_server import LoopbackServer, is_loopback


class DataverseEmulator(EmulatorCore):
    """See docs/emulator.md. `start()` returns once the socket is listening."""

    _server: LoopbackServer | None = None

    @property
    def app(self) -> EmulatorApp:
        return EmulatorApp(self, Admin(self).handle)

    def start(self, host: str = "127.0.0.1", port: int = 0) -> DataverseEmulator:
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        if not is_loopback(host):
            raise ValueError(f"the emulator serves loopback only; {host!r} is not a loopback address")
        server = LoopbackServer(self.app, host=host, port=port, name="dataverse-emulator",
                                proxy_headers=False, timeout_keep_alive=30)
        self._server = server.start()
        return self

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return self._server.port

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
