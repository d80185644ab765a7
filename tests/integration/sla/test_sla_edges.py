"""The edges of the sla service: the policy API with its errors, and dead-lettered messages."""

import json
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import harness
import pytest
from incident_kit.clock import FrozenClock
from integration.sla.support import AUTH, KIND, T0, policy_body, reported
from sla.app import create_app
from sla.config import SlaSettings

pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"


async def test_policies_are_created_replaced_and_listed(settings: SlaSettings) -> None:
    async with harness.running_app(create_app(settings, FrozenClock(T0))) as client:
        created = await client.put("/v1/policies/gold", json=policy_body(), headers=AUTH)
        assert created.status_code == 201
        assert created.json()["targets"] == {
            "first_response": 3600,
            "update_interval": None,
            "resolution": 8 * 3600,
        }
        changed = policy_body(
            priority=1,
            targets={"first_response": 600, "resolution": "P1D", "update_interval": "PT4H"},
        )
        replaced = await client.put("/v1/policies/gold", json=changed, headers=AUTH)
        assert replaced.status_code == 200
        await client.put("/v1/policies/basic", json=policy_body(priority=50), headers=AUTH)

        got = (await client.get("/v1/policies/gold", headers=AUTH)).json()
        assert got["priority"] == 1 and got["policy_id"] == "gold"
        assert got["targets"] == {
            "first_response": 600,
            "update_interval": 14400,
            "resolution": 86400,
        }
        assert got["match"] == {"tiers": ["premium"], "severities": [], "kinds": [KIND]}
        listed = (await client.get("/v1/policies", headers=AUTH)).json()
        assert [p["policy_id"] for p in listed] == ["gold", "basic"]  # in matching order


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            policy_body(targets={"first_response": "soon", "resolution": "PT8H"}),
            "body.targets.first_response",
        ),
        (policy_body(warn_at_percent=[150]), "body.warn_at_percent.0"),
        (policy_body(calendar="mars"), "body.calendar"),
        ({"name": "No targets", "priority": 1}, "body.targets"),
    ],
)
async def test_a_bad_policy_is_a_422_naming_the_field(
    settings: SlaSettings, body: dict[str, Any], field: str
) -> None:
    async with harness.running_app(create_app(settings, FrozenClock(T0))) as client:
        answer = await client.put("/v1/policies/gold", json=body, headers=AUTH)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM
    assert field in [error["field"] for error in answer.json()["errors"]]


async def test_unknown_ids_are_404_and_a_missing_key_401(settings: SlaSettings) -> None:
    async with harness.running_app(create_app(settings, FrozenClock(T0))) as client:
        for path in ("/v1/policies/nope", f"/v1/incidents/inc-{uuid4()}/sla"):
            missing = await client.get(path, headers=AUTH)
            assert missing.status_code == 404
            assert missing.headers["content-type"] == PROBLEM
            assert missing.json()["status"] == 404
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            refused = await client.get("/v1/policies", headers=headers)
            assert refused.status_code == 401
            assert refused.headers["content-type"] == PROBLEM
        bad_id = await client.put("/v1/policies/no%20spaces", json=policy_body(), headers=AUTH)
        assert bad_id.status_code == 422
        assert "path.policy_id" in [error["field"] for error in bad_id.json()["errors"]]


async def test_garbage_and_unknown_versions_go_to_the_dead_letter_topic(
    settings: SlaSettings,
) -> None:
    bootstrap, topic = settings.kafka_bootstrap_servers, f"{settings.kafka_topic_prefix}incidents"
    garbage = b"{not json"
    future = json.dumps(
        json.loads(reported("inc-1").to_json()) | {"type": "incident.reported.v9"}
    ).encode()
    async with harness.running_app(create_app(settings, FrozenClock(T0))):
        await harness.publish_raw(bootstrap, topic, "garbage", garbage)
        await harness.publish_raw(bootstrap, topic, "inc-1", future)

        # The two keys may land on different partitions of the DLQ: find each by its key.
        for key, body, reason in (
            ("garbage", garbage, "EventParseError"),
            ("inc-1", future, "incident.reported.v9"),
        ):
            record = await harness.read_raw(bootstrap, f"{topic}.dlq", keyed(key))
            headers = harness.headers_of(record)
            assert record.value == body
            assert reason in headers["dlq-reason"]
            assert headers["dlq-original-topic"] == topic


def keyed(key: str) -> Callable[[Any], bool]:
    return lambda record: bool(record.key == key.encode())
