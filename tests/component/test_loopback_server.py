"""tools/loopback_server.py: what its docstring claims about TCP_NODELAY, checked on this Python."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from tests.support import loopback
from tests.support.polling import wait_until
from tools.loopback_server import LoopbackServer, loopback_socket


async def _accepted_nodelay(listener: socket.socket) -> int:
    """TCP_NODELAY on the socket asyncio accepts from ``listener``."""
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(on_connection, sock=listener)
    _, writer = await asyncio.open_connection(*listener.getsockname())
    try:
        return await asyncio.wait_for(accepted, 5)
    finally:
        writer.close()
        server.close()


def test_asyncio_sets_nodelay_only_on_sockets_made_with_ipproto_tcp() -> None:
    with loopback_socket() as ours:
        assert ours.proto == socket.IPPROTO_TCP
        assert asyncio.run(_accepted_nodelay(ours)) == 1
    plain = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # proto 0, as socket.socket() defaults
    plain.bind(("127.0.0.1", 0))
    plain.listen()
    with plain:
        assert asyncio.run(_accepted_nodelay(plain)) == 0, "asyncio now sets TCP_NODELAY itself: update the docstring"


def test_uvicorn_connections_have_nodelay_and_stop_frees_the_port() -> None:
    async def app(scope, receive, send):  # the smallest ASGI app
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    server = LoopbackServer(app).start()
    url = server.url
    try:
        with loopback.client(base_url=url) as http:  # keeps its connection open between requests
            assert http.get("/").status_code == 204
            connections = wait_until(lambda: server._server.server_state.connections, what="the open connection")
            for protocol in connections:
                sock = protocol.transport.get_extra_info("socket")
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        loopback.get(url)


def test_only_loopback_hosts() -> None:
    with pytest.raises(ValueError):
        loopback_socket("0.0.0.0")
