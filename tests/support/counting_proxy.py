"""A TCP relay in front of a local server that counts the HTTP requests passing through it.

Used to measure how many storage transactions a flow costs: point the app's connection string at
relays in front of Azurite's blob, queue and table ports and read :attr:`CountingRelay.requests`.
:meth:`CountingRelay.stall` holds what clients send (a storage that has stopped answering) until
:meth:`CountingRelay.resume`.
Requests are counted by their request lines (``METHOD /path HTTP/1.1``) in the client's stream:
at the start of a read or of a line, which holds for the storage SDKs' HTTP/1.1 traffic (one
request at a time per connection, so each request begins a new read).
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

_REQUEST_LINE = re.compile(rb"(GET|PUT|POST|DELETE|HEAD|PATCH|MERGE|OPTIONS) \S+ HTTP/1\.1\r\n")


class CountingRelay:
    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self._host, self._port, self._path = parts.hostname or "127.0.0.1", parts.port, parts.path
        self.requests: dict[str, int] = {}
        self.url = ""
        self._lock = threading.Lock()
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

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, count: bool) -> None:
        tail = b""
        try:
            while data := await reader.read(65536):
                if count and not self._flowing.is_set():
                    await asyncio.to_thread(self._flowing.wait)
                if count:
                    window = tail + data
                    with self._lock:
                        for match in _REQUEST_LINE.finditer(window):
                            # a request starts a read (after a body, which need not end in CRLF) or a line
                            starts = match.start() in (0, len(tail)) or window[match.start() - 2:match.start()] == b"\r\n"
                            if starts and match.end() > len(tail):
                                method = match.group(1).decode()
                                self.requests[method] = self.requests.get(method, 0) + 1
                    tail = window[-64:]
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(self._host, self._port)
        await asyncio.gather(self._pipe(client_reader, server_writer, True),
                             self._pipe(server_reader, client_writer, False))


@contextmanager
def counting_relays(*targets: str) -> Iterator[list[CountingRelay]]:
    """One relay per target URL (``http://127.0.0.1:PORT/account``), on free ports, in a background loop."""
    relays = [CountingRelay(t) for t in targets]
    loop = asyncio.new_event_loop()
    started = threading.Event()
    servers: list[asyncio.AbstractServer] = []

    async def start() -> None:
        for relay in relays:
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
