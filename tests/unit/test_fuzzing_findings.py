"""What fuzzing every service's OpenAPI found, kept as plain requests with the answer expected.

Each was a 500 (NUL reaching PostgreSQL, an OFFSET past bigint, a non-ASCII API key) or a
disagreement between the schema and validation (a request the schema allows refused, or one
it forbids taken). They are refused in validation now, so the apps answer without their
lifespan: nothing is connected. tests/integration/test_openapi_conformance.py fuzzes anew.
"""

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from incident_kit.clock import FrozenClock
from intake.app import create_app as create_intake
from intake.config import IntakeSettings
from notifier.app import create_app as create_notifier
from notifier.config import NotifierSettings
from router.app import create_app as create_router
from router.config import RouterSettings
from sla.app import create_app as create_sla
from sla.config import SlaSettings

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
AUTH = {"Authorization": "Bearer k"}
NOWHERE: dict[str, Any] = {
    "kafka_bootstrap_servers": "127.0.0.1:9",
    "database_url": "postgresql://u@127.0.0.1:9/d",
    "api_keys": "k",
}
REPORT = {"title": "Checkout fails", "severity": "high", "customer": {"customer_id": "c-1"}}
AGENT = {"name": "Ann", "languages": ["en"], "tier": 1, "capacity": 2, "presence": "online"}
POLICY = {"name": "Gold", "priority": 1, "targets": {"first_response": 60, "resolution": 600}}


class _NoMail:
    async def send(self, message: object) -> None:
        raise AssertionError("nothing is mailed here")


def build(service: str) -> FastAPI:
    clock = FrozenClock(T0)
    match service:
        case "intake":
            return create_intake(IntakeSettings(**NOWHERE), clock)
        case "router":
            return create_router(RouterSettings(**NOWHERE), clock)
        case "sla":
            return create_sla(SlaSettings(**NOWHERE), clock)
        case _:
            return create_notifier(NotifierSettings(**NOWHERE), clock, email_sender=_NoMail())


async def send(service: str, method: str, path: str, **request: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=build(service), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path, **{"headers": AUTH, **request})


def agent(**changes: Any) -> dict[str, Any]:
    return {"json": {**AGENT, **changes}}


def policy(**changes: Any) -> dict[str, Any]:
    return {"json": {**POLICY, **changes}}


def report(**changes: Any) -> dict[str, Any]:
    return {"json": {**REPORT, **changes}}


AGENT_PATH, POLICY_PATH, REPORTS = "/v1/agents/a-1", "/v1/policies/gold", "/v1/incidents"


@pytest.mark.parametrize(
    ("service", "method", "path", "request_", "field"),
    [
        # NUL reached PostgreSQL, which cannot store it: 500.
        ("intake", "GET", "/v1/incidents/%00", {}, "path.incident_id"),
        ("router", "PUT", AGENT_PATH, agent(name="A\x00"), "body.name"),
        ("sla", "GET", "/v1/incidents/%00/sla", {}, "path.incident_id"),
        ("sla", "PUT", POLICY_PATH, policy(match={"kinds": ["\x00"]}), "body.match.kinds.0"),
        ("notifier", "GET", "/status/%00", {}, "path.token"),
        ("notifier", "GET", "/v1/customers/%00/preferences", {}, "path.customer_id"),
        # An OFFSET past PostgreSQL's bigint: 500.
        ("router", "GET", "/v1/queue?offset=10647235269647519744", {}, "query.offset"),
        # The schema forbade these, validation took them (true as 1, "3" as 3).
        ("router", "PUT", AGENT_PATH, agent(tier=True), "body.tier"),
        ("router", "PUT", AGENT_PATH, agent(capacity="3"), "body.capacity"),
        (
            "sla",
            "PUT",
            POLICY_PATH,
            policy(targets={"first_response": 60, "resolution": True}),
            "body.targets.resolution",
        ),
        # The schema now says what validation refuses: special-use domains, blank titles...
        (
            "intake",
            "POST",
            REPORTS,
            report(customer={"email": "a@host.test"}),
            "body.customer.email",
        ),
        ("intake", "POST", REPORTS, report(title="  "), "body.title"),
        ("intake", "POST", REPORTS, report(customer={}), "body.customer"),
        (
            "intake",
            "POST",
            REPORTS,
            {**report(), "headers": {**AUTH, "Idempotency-Key": "two words"}},
            "header.Idempotency-Key",
        ),
        (
            "router",
            "PUT",
            AGENT_PATH,
            agent(skills={"Not A Slug": 3}),
            "body.skills.Not A Slug.[key]",
        ),
        (
            "sla",
            "PUT",
            POLICY_PATH,
            policy(targets={"first_response": "P1W", "resolution": 60}),
            "body.targets.first_response",
        ),
        (
            "notifier",
            "PUT",
            "/v1/customers/c-1/preferences",
            {"json": {"email": "ann@printer.local"}},
            "body.email",
        ),
    ],
)
async def test_refused_in_validation_naming_the_field(
    service: str, method: str, path: str, request_: dict[str, Any], field: str
) -> None:
    response = await send(service, method, path, **request_)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in {error["field"] for error in response.json()["errors"]}


@pytest.mark.parametrize("service", ["intake", "router", "sla", "notifier"])
async def test_a_key_with_non_ascii_bytes_is_401_not_500(service: str) -> None:
    path = {"intake": "/v1/incidents/x", "router": "/v1/queue", "sla": "/v1/policies"}.get(
        service, "/v1/customers/c-1/preferences"
    )
    response = await send(service, "GET", path, headers={b"Authorization": b"Bearer \xe9t\xe9"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("service", "path", "allowed"),
    [
        ("router", "/v1/agents/a-1", "DELETE, GET, PUT"),
        ("sla", "/v1/policies/gold", "GET, PUT"),
        ("notifier", "/v1/customers/c-1/preferences", "GET, PUT"),
    ],
)
async def test_a_wrong_method_is_405_listing_every_method_of_the_path(
    service: str, path: str, allowed: str
) -> None:
    response = await send(service, "OPTIONS", path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed  # was only the first route's, e.g. "PUT"


async def test_a_body_that_is_not_utf8_is_a_documented_400() -> None:
    response = await send(
        "intake",
        "POST",
        "/v1/incidents",
        content=b'{"title": "\xff"}',
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("service", "where", "expected"),
    [
        # A customer needs an id, an e-mail or a phone: {} was valid by the schema.
        (
            "intake",
            ("components", "schemas", "CustomerIn", "anyOf", "0", "required"),
            ["customer_id"],
        ),
        # HTTP drops a header value's outer whitespace: " k" arrived as "k", "" was refused.
        (
            "intake",
            (
                "paths",
                "/v1/incidents",
                "post",
                "parameters",
                "0",
                "schema",
                "anyOf",
                "0",
                "pattern",
            ),
            "^[!-~]+$",
        ),
        # patternProperties alone admits keys that match no pattern.
        (
            "router",
            ("components", "schemas", "AgentIn", "properties", "skills", "additionalProperties"),
            False,
        ),
        (
            "sla",
            ("components", "schemas", "PolicyBody", "properties", "calendar", "enum"),
            ["24x7"],
        ),
        # 404s answered but not documented.
        (
            "router",
            ("paths", "/v1/agents/{agent_id}", "delete", "responses", "404", "description"),
            "No such agent",
        ),
        (
            "sla",
            ("paths", "/v1/policies/{policy_id}", "get", "responses", "404", "description"),
            "No such policy",
        ),
        (
            "notifier",
            ("paths", "/status/{token}", "get", "responses", "404", "content"),
            {
                "application/problem+json": {
                    "schema": {"$ref": "#/components/schemas/ProblemDetails"}
                }
            },
        ),
    ],
)
async def test_the_schema_says_what_validation_does(
    service: str, where: tuple[str, ...], expected: Any
) -> None:
    found: Any = build(service).openapi()
    for key in where:
        found = found[int(key)] if isinstance(found, list) else found[key]
    assert found == expected
