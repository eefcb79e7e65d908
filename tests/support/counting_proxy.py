"""A TCP relay in front of a local server that counts the HTTP requests passing through it.

Used to measure how many storage transactions a flow costs: point the app's connection string at
relays in front of Azurite's blob, queue and table ports and read :attr:`CountingRelay.requests`
(by method) or :meth:`CountingRelay.count` (by method and path: which blobs were read, say).
:meth:`CountingRelay.stall` holds what clients send (a storage that has stopped answering) until
:meth:`CountingRelay.resume`.
Requests are counted by their request lines (``METHOD /path HTTP/1.1``) in the client's stream:
at the start of a read or of a line, which holds for the storage SDKs' HTTP/1.1 traffic (one
request at a time per connection, so each request begins a new read).

A relay can also refuse requests, for a storage outage that hits exactly the requests a test
names: while :attr:`CountingRelay.refuse` answers true for a request's method and path, that
request is not forwarded and its connection is dropped (the client sees a reset, as when the
account is unreachable). Refused requests are counted in :attr:`CountingRelay.refused`.

:meth:`CountingRelay.hold_response` holds back the answer to one chosen request: the server has
done the work, the client has not heard it yet. A test uses it to land something in the window
where a request is in flight (the devhost's queue listener stopping a hide renewal, say).
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

_REQUEST_LINE = re.compile(rb"(GET|PUT|POST|DELETE|HEAD|PATCH|MERGE|OPTIONS) (\S+) HTTP/1\.1\r\n")


class HeldResponse:
    """The answer to the first request matching ``method`` and ``path_part``, held until :meth:`release`."""

    def __init__(self, method: str, path_part: str, loop: asyncio.AbstractEventLoop) -> None:
        self.method, self.path_part = method, path_part
        self.arrived = threading.Event()  # the server's answer is here, not passed on yet
        self._loop = loop
        self._released = asyncio.Event()

    def release(self) -> None:
        self._loop.call_soon_threadsafe(self._released.set)

    async def passed_on(self) -> None:
        self.arrived.set()
        await self._released.wait()


class CountingRelay:
    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self._host, self._port, self._path = parts.hostname or "127.0.0.1", parts.port, parts.path
        self.requests: dict[str, int] = {}
        self.connections = 0
        """How many TCP connections clients opened through the relay."""
        self.by_path: dict[tuple[str, str], int] = {}
        """Requests by method and path (without the query), as the client sent them."""
        self.refuse: Callable[[str, str], bool] | None = None
        """Called with each request's method and path (in the relay's thread): true drops it."""
        self.refused = 0
        self.url = ""
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._holds: list[HeldResponse] = []
        self._flowing = threading.Event()
        self._flowing.set()

    def stall(self) -> None:
        """From now on, hold every byte clients send (requests hang; connections stay open)."""
        self._flowing.clear()

    def resume(self) -> None:
        """Let what was held, and everything after it, through."""
        self._flowing.set()

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.requests.values())

    def count(self, method: str, path_end: str) -> int:
        """How many ``method`` requests went to a path ending in ``path_end`` (``/container/blob``)."""
        with self._lock:
            return sum(n for (m, path), n in self.by_path.items() if m == method and path.endswith(path_end))

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.by_path.clear()

    def hold_response(self, method: str, path_part: str) -> HeldResponse:
        """Hold the answer to the next ``method`` request whose path contains ``path_part`` (once)."""
        assert self._loop is not None, "the relay is not running"
        hold = HeldResponse(method, path_part, self._loop)
        with self._lock:
            self._holds.append(hold)
        return hold

    def _claim_hold(self, method: str, path: str) -> HeldResponse | None:
        for hold in self._holds:
            if hold.method == method and hold.path_part in path:
                self._holds.remove(hold)
                return hold
        return None

    def _count(self, tail: bytes, data: bytes, connection: dict[str, HeldResponse]) -> bool:
        """Count the requests that start in ``data``; true when one of them is refused. A request
        whose answer is to be held marks ``connection`` before it goes on (its answer comes after)."""
        window = tail + data
        refused = False
        with self._lock:
            for match in _REQUEST_LINE.finditer(window):
                # a request starts a read (after a body, which need not end in CRLF) or a line
                starts = match.start() in (0, len(tail)) or window[match.start() - 2:match.start()] == b"\r\n"
                if starts and match.end() > len(tail):
                    method, path = match.group(1).decode(), match.group(2).decode("latin-1")
                    self.requests[method] = self.requests.get(method, 0) + 1
                    key = (method, path.split("?", 1)[0])
                    self.by_path[key] = self.by_path.get(key, 0) + 1
                    if self.refuse is not None and self.refuse(method, path):
                        self.refused += 1
                        refused = True
                    elif (hold := self._claim_hold(method, path)) is not None:
                        connection["held"] = hold
        return refused

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    client: asyncio.StreamWriter | None, connection: dict[str, HeldResponse]) -> None:
        """Copy ``reader`` to ``writer``; counting requests when ``client`` (the client's side) is
        given, else (the server's answers) holding back an answer ``connection`` marks."""
        tail = b""
        try:
            while data := await reader.read(65536):
                if client is not None and not self._flowing.is_set():
                    await asyncio.to_thread(self._flowing.wait)
                if client is not None:
                    if self._count(tail, data, connection):
                        client.transport.abort()  # the refused request goes nowhere; the client sees a reset
                        return
                    tail = (tail + data)[-64:]
                elif (hold := connection.pop("held", None)) is not None:
                    await hold.passed_on()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self.connections += 1
        server_reader, server_writer = await asyncio.open_connection(self._host, self._port)
        connection: dict[str, HeldResponse] = {}
        try:
            await asyncio.gather(self._pipe(client_reader, server_writer, client_writer, connection),
                                 self._pipe(server_reader, client_writer, None, connection))
        except asyncio.CancelledError:  # the relays shutting down: a cancelled connection is no error to report
            server_writer.close()
            client_writer.close()


@contextmanager
def counting_relays(*targets: str) -> Iterator[list[CountingRelay]]:
    """One relay per target URL (``http://127.0.0.1:PORT/account``), on free ports, in a background loop."""
    relays = [CountingRelay(t) for t in targets]
    loop = asyncio.new_event_loop()
    started = threading.Event()
    servers: list[asyncio.AbstractServer] = []

    async def start() -> None:
        for relay in relays:
            relay._loop = asyncio.get_running_loop()
            server = await asyncio.start_server(relay._serve, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            relay.url = f"http://127.0.0.1:{port}{relay._path}"
            servers.append(server)
        started.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield relays
    finally:
        async def shutdown() -> None:  # every relayed connection closed before the loop goes
            for server in servers:
                server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
