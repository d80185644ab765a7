"""The agents API over HTTP: create vs replace, listing, and its problem+json errors."""

from typing import Any

import pytest

from .conftest import AUTH, RouterUnderTest

pytestmark = pytest.mark.integration


async def test_put_creates_then_replaces_an_agent(router: RouterUnderTest) -> None:
    created = await router.put_agent("ana", capacity=3)
    replaced = await router.put_agent("ana", capacity=5, presence="away", email=None)

    assert created.status_code == 201
    assert replaced.status_code == 200
    assert replaced.json() | {"updated_at": None} == {
        "agent_id": "ana",
        "name": "Agent ana",
        "email": None,
        "skills": {"payments": 4, "billing": 2},
        "languages": ["cs"],
        "tier": 3,
        "capacity": 5,
        "presence": "away",
        "active_count": 0,
        "updated_at": None,
    }
    assert await router.agent("ana") == replaced.json()
    listing = (await router.client.get("/v1/agents", headers=AUTH)).json()
    assert [agent["agent_id"] for agent in listing["items"]] == ["ana"]


async def test_requests_without_a_valid_key_are_refused(router: RouterUnderTest) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = await router.client.get("/v1/agents", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"


BAD_AGENTS: list[tuple[dict[str, Any], str]] = [
    ({"tier": 4}, "body.tier"),
    ({"capacity": -1}, "body.capacity"),
    ({"capacity": 101}, "body.capacity"),
    ({"presence": "busy"}, "body.presence"),
    ({"languages": ["english"]}, "body.languages.0"),
    ({"languages": []}, "body.languages"),
    ({"skills": {"network": 6}}, "body.skills.network"),
    ({"skills": {"Bad Skill": 2}}, "body.skills.Bad Skill.[key]"),
    ({"email": "not-an-address"}, "body.email"),
    ({"name": ""}, "body.name"),
    ({"team": "x"}, "body.team"),
]


async def test_bad_agents_get_a_problem_naming_the_field(router: RouterUnderTest) -> None:
    # One app for the whole table: starting one per case would only test the startup.
    for change, field in BAD_AGENTS:
        response = await router.put_agent("ana", **change)

        assert response.status_code == 422, change
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert field in [error["field"] for error in problem["errors"]], problem
        assert field in problem["detail"]
    assert (await router.client.get("/v1/agents/ana", headers=AUTH)).status_code == 404


async def test_unknown_agents_are_a_404_problem(router: RouterUnderTest) -> None:
    for method in ("GET", "DELETE"):
        response = await router.client.request(method, "/v1/agents/nobody", headers=AUTH)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["title"] == "Agent not found"


async def test_a_bad_agent_id_is_a_422_problem(router: RouterUnderTest) -> None:
    response = await router.client.get("/v1/agents/-bad id!", headers=AUTH)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "path.agent_id"
