"""Agents for a benchmark's incidents: online with a skill of their own while it runs, offline
after, so each run's incidents go to its own agents and nothing else is assigned to them."""

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

# The most incidents router lets one agent hold (its API's limit on `capacity`).
AGENT_CAPACITY = 100
MIN_AGENTS = 20


def agents_for(incidents: int) -> int:
    """Enough agents that no incident of the run waits in router's queue for capacity."""
    return max(MIN_AGENTS, math.ceil(incidents * 1.1 / AGENT_CAPACITY))


@asynccontextmanager
async def online_agents(
    client: httpx.AsyncClient, router_url: str, *, skill: str, count: int
) -> AsyncIterator[None]:
    """`count` agents with `skill`, online inside the block and signed off when it ends.

    Deleting them instead would re-route every incident they hold, a storm of reassignments
    that would still be loading the stack when the next run starts.
    """
    try:
        for index in range(count):
            (await _put_agent(client, router_url, skill, index, "online")).raise_for_status()
        yield
    finally:
        for index in range(count):
            await _put_agent(client, router_url, skill, index, "offline")


async def _put_agent(
    client: httpx.AsyncClient, router_url: str, skill: str, index: int, presence: str
) -> httpx.Response:
    return await client.put(
        f"{router_url}/v1/agents/{skill}-{index}",
        json={
            "name": f"Bench agent {index}",
            "skills": {skill: 3},
            "languages": ["en"],
            "tier": 3,
            "capacity": AGENT_CAPACITY,
            "presence": presence,
        },
    )
