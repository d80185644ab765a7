"""A lean keep-alive HTTP/1.1 client for open-loop load: a pool of connections to one server,
one request at a time on each, answers parsed by httptools (uvicorn's parser, already here).

Why not httpx: it spends about 2 ms of CPU per request here (anyio, and a failed `sniffio`
import on every lock it sets up), a core at 500/s on a machine of two shared with the system
under test. This costs a tenth of that.
"""

import asyncio
import json
from typing import cast
from urllib.parse import urlsplit

import httptools

# uvicorn closes a connection idle for 5 s (`timeout_keep_alive`). A request written on one just
# as the server closes it is met with a reset, an error the system under test did not make: a
# connection idle for this long is closed by us and not reused.
IDLE_SECONDS = 4.0


class ConnectionLost(ConnectionError):
    """The server closed the connection before the whole answer arrived."""


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.answer: asyncio.Future[tuple[int, bytes]] | None = None
        self.body: list[bytes] = []
        self.closed = False
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports have the methods of asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_result((self.parser.get_status_code(), b"".join(self.body)))
        self.closed = self.closed or not self.parser.should_keep_alive()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(ConnectionLost(str(exc or "closed by the server")))

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.body = []
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.answer

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class HttpPool:
    """At most `size` connections to the server of `base_url`; a request waits for a free one."""

    def __init__(self, base_url: str, *, size: int, headers: dict[str, str]) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        fixed = {"Host": parts.netloc, "Content-Type": "application/json", **headers}
        self.fixed_headers = "".join(f"{name}: {value}\r\n" for name, value in fixed.items())
        self.idle: list[_Connection] = []
        # Released without awaiting, so a timeout cannot strand a slot.
        self.slots = asyncio.Semaphore(size)

    async def post_json(
        self, path: str, body: object, *, headers: dict[str, str], timeout: float
    ) -> tuple[int, bytes]:
        """(status, body) of the answer; raises TimeoutError, OSError or ConnectionLost."""
        payload = json.dumps(body).encode()
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        head = f"POST {path} HTTP/1.1\r\n{self.fixed_headers}{extra}"
        request = f"{head}Content-Length: {len(payload)}\r\n\r\n".encode() + payload
        async with asyncio.timeout(timeout), self.slots:
            connection = await self._connection()
            try:
                answer = await connection.exchange(request)
            except BaseException:
                connection.close()
                raise
            if not connection.closed:
                connection.idle_since = asyncio.get_running_loop().time()
                self.idle.append(connection)
        return answer

    async def _connection(self) -> _Connection:
        """An idle connection the server has not closed, nor is about to, or a new one."""
        loop = asyncio.get_running_loop()
        while self.idle:
            connection = self.idle.pop()
            if loop.time() - connection.idle_since >= IDLE_SECONDS:
                connection.close()
            elif not connection.closed:
                return connection
        _, connection = await loop.create_connection(_Connection, self.host, self.port)
        return connection

    def close(self) -> None:
        for connection in self.idle:
            connection.close()
        self.idle.clear()
