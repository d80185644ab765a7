"""What the stack must hold before a scenario's load: an SLA policy for the suite's incidents,
and agents with room for all of them, so every incident gets an assignment and clocks.

The policy matches the suite's kind and severity (medium service requests) and sets windows of
hours, so no clock breaches during a run: any breach the checks see is one that should not have
fired. It stays on the stack afterwards, for those incidents; `make clean` starts afresh.
"""

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from bench.agents import AGENT_CAPACITY, online_agents
from faults.load import KIND, SEVERITY

POLICY_ID = "faults"
POLICY = {
    "name": "Fault suite",
    "priority": 1,  # lowest wins: ahead of the demo's catch-all "standard"
    "match": {"tiers": [], "severities": [SEVERITY], "kinds": [KIND]},
    "targets": {"first_response": "PT4H", "update_interval": "PT8H", "resolution": "P3D"},
    "warn_at_percent": [75],
    "calendar": "24x7",
}
MIN_AGENTS = 5


async def put_policy(client: httpx.AsyncClient, sla_url: str) -> None:
    response = await client.put(f"{sla_url}/v1/policies/{POLICY_ID}", json=POLICY)
    response.raise_for_status()


@asynccontextmanager
async def agents_for(
    client: httpx.AsyncClient, router_url: str, *, skill: str, incidents: int
) -> AsyncIterator[None]:
    """Online agents with `skill` and room for twice `incidents`, signed off afterwards."""
    count = max(MIN_AGENTS, math.ceil(incidents * 2 / AGENT_CAPACITY))
    async with online_agents(client, router_url, skill=skill, count=count):
        yield
