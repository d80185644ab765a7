"""A server the benchmark starts in a process of its own: waiting until it is ready, and
stopping it when the block ends."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx


async def wait_ready(
    url: str,
    process: asyncio.subprocess.Process,
    *,
    name: str,
    seconds: float,
    detail: Callable[[], str] = str,
) -> None:
    """Poll `url` until it answers 200 (the condition), giving up after `seconds`; `detail()`
    is added to the error (the server's output, say)."""
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(int(seconds * 10)):
            if process.returncode is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}{detail()}")
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{name} did not answer {url} within {seconds:g} s{detail()}")


@asynccontextmanager
async def stopped_at_exit(
    process: asyncio.subprocess.Process, *, timeout: float = 30
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Yield the process; terminate it when the block ends, killing it if it lingers."""
    try:
        yield process
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
