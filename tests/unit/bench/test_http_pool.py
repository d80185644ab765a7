"""The load generator's HTTP client against a minimal server: answers come back on kept-alive
connections, never more connections than the pool's size, and a connection the server closed
is replaced, not reused, and so is one idle for almost as long as the server keeps one."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from bench.http_pool import IDLE_SECONDS, HttpPool

ANSWER = b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"


class _Server(asyncio.Protocol):
    connections = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        type(self).connections += 1
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        # One whole request per read is enough for requests this small.
        self.transport.write(ANSWER)  # type: ignore[attr-defined]
        if b"close-after" in data:
            self.transport.close()


@pytest.fixture
async def server_url() -> AsyncIterator[str]:
    _Server.connections = 0
    server = await asyncio.get_running_loop().create_server(_Server, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.close()


async def test_concurrent_posts_share_at_most_size_kept_alive_connections(server_url: str) -> None:
    pool = HttpPool(server_url, size=3, headers={"Authorization": "Bearer k"})

    answers = await asyncio.gather(
        *(pool.post_json("/v1/x", {"n": n}, headers={}, timeout=5) for n in range(30))
    )

    assert set(answers) == {(201, b"{}")}
    assert _Server.connections == 3
    await pool.post_json("/v1/x", {}, headers={}, timeout=5)
    assert _Server.connections == 3
    pool.close()


async def test_a_connection_the_server_closed_is_replaced(server_url: str) -> None:
    pool = HttpPool(server_url, size=1, headers={})

    await pool.post_json("/v1/x", {"close-after": True}, headers={}, timeout=5)
    await asyncio.sleep(0.05)
    assert await pool.post_json("/v1/x", {}, headers={}, timeout=5) == (201, b"{}")

    assert _Server.connections == 2
    pool.close()


async def test_a_connection_idle_near_the_servers_keep_alive_timeout_is_not_reused(
    server_url: str,
) -> None:
    """uvicorn closes a connection idle for 5 s; writing on it then meets a reset."""
    pool = HttpPool(server_url, size=1, headers={})
    await pool.post_json("/v1/x", {}, headers={}, timeout=5)
    (idle,) = pool.idle
    idle.idle_since -= IDLE_SECONDS  # time moved, not waited for

    assert await pool.post_json("/v1/x", {}, headers={}, timeout=5) == (201, b"{}")

    assert _Server.connections == 2
    assert idle.closed
    pool.close()
