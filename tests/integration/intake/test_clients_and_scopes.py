"""Clients and scopes through intake's HTTP API on the real database: 401 without a valid key
(whatever the token holds), 403 naming the scope needed, a reporting client that reads and
comments only on its own incidents and never sees other clients' customers' contacts,
Idempotency-Keys and dedup_keys that are each client's own, a tier only from an admin, and the
rejections counted by reason."""

from typing import Any
from uuid import uuid4

import httpx
import pytest
from intake.domain import Scope
from integration.intake.support import AUTH, RunningIntake, report_body

pytestmark = pytest.mark.integration
# No token at all, as far as a bearer scheme goes.
NO_TOKENS: list[bytes] = [b"Bearer", b"Bearer ", b"Basic dXNlcjpwYXNz"]
ODD_TOKENS: list[bytes] = [
    b"bearer kk",  # the env key is k
    b"Bearer k k",
    b"Bearer \xc3\xbcn\xc3\xafc\xc3\xb6de \xe2\x98\x83",  # UTF-8
    b"Bearer \xff\xfe\xfd",  # not UTF-8 at all
    b"Bearer a\x01b\x7fc\td",  # control characters
    b"Bearer " + b"x" * 100_000,
    b"Bearer ik_0123456789ab_" + b"A" * 43,  # intake's format, an id nobody has
    b"Bearer ik_0123456789ab_" + b"\xc3\xa9" * 43,
]


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    return problem


async def test_a_request_without_a_valid_key_is_401_whatever_its_token(
    intake: RunningIntake,
) -> None:
    for token in [None, *NO_TOKENS, *ODD_TOKENS]:
        headers = {b"Authorization": token} if token is not None else {}
        for method, path in (("GET", "/v1/incidents"), ("POST", "/v1/incidents")):
            response = await intake.client.request(method, path, headers=headers, json={})
            assert_problem(response, 401)
            assert response.headers["www-authenticate"] == "Bearer"
    rejected = "intake_requests_rejected_total"
    missing = await intake.metric(rejected, route="/v1/incidents", reason="missing_api_key")
    invalid = await intake.metric(rejected, route="/v1/incidents", reason="invalid_api_key")
    assert (missing, invalid) == (2 * (1 + len(NO_TOKENS)), 2 * len(ODD_TOKENS))
    assert await intake.scalar("SELECT count(*) FROM intake.incidents") == 0


async def test_a_key_without_the_scope_is_403_naming_it(intake: RunningIntake) -> None:
    shop = await intake.client_auth("shop", Scope.REPORT)
    desk = await intake.client_auth("desk", Scope.AGENT)
    incident_id = (await intake.report(report_body())).json()["incident_id"]
    status = {"status": "resolved", "reason": "r", "resolution_summary": "s"}
    refused = [
        (desk, "POST", "/v1/incidents", report_body(), ["report"]),
        (shop, "GET", "/v1/incidents", None, ["agent", "admin"]),
        (shop, "POST", f"/v1/incidents/{incident_id}/status", status, ["agent"]),
        (shop, "PATCH", f"/v1/incidents/{incident_id}", {"severity": "low"}, ["agent"]),
        (shop, "GET", "/v1/customers/email:ann@example.com", None, ["agent", "admin"]),
        (shop, "GET", "/v1/customers/email:ann@example.com/incidents", None, ["agent", "admin"]),
        (desk, "PATCH", "/v1/customers/email:ann@example.com", {"tier": "premium"}, ["admin"]),
    ]
    for auth, method, path, body, needed in refused:
        response = await intake.client.request(method, path, json=body, headers=auth)
        problem = assert_problem(response, 403)
        assert problem["required_scopes"] == needed, (path, problem)
        assert f"this needs the scope {' or '.join(needed)}" in problem["detail"]
        assert response.headers["www-authenticate"] == (
            f'Bearer error="insufficient_scope", scope="{" ".join(needed)}"'
        )
    forbidden = await intake.metric(
        "intake_requests_rejected_total", route="/v1/incidents", reason="insufficient_scope"
    )
    assert forbidden == 2
    # The agent reads and works on any incident.
    assert (await intake.client.get(f"/v1/incidents/{incident_id}", headers=desk)).is_success
    moved = await intake.client.post(
        f"/v1/incidents/{incident_id}/status", json=status, headers=desk
    )
    assert moved.status_code == 200, moved.text


async def test_a_reporting_client_reads_and_comments_only_on_its_own(
    intake: RunningIntake,
) -> None:
    shop = await intake.client_auth("shop", Scope.REPORT)
    crm = await intake.client_auth("crm", Scope.REPORT)
    # The env client knows Ann with her phone; the shop reports for her by e-mail.
    await intake.report(report_body(customer={"email": "ann@example.com", "phone": "+420 1"}))
    reported = await intake.report(report_body(), auth=shop)
    assert reported.status_code == 201, reported.text
    incident = reported.json()
    assert incident["client_id"] == "shop"
    assert incident["customer"]["customer_id"] == "email:ann@example.com"
    hidden = {"name": None, "email": None, "phone": None}
    assert {k: incident["customer"][k] for k in hidden} == hidden  # not Ann's phone
    path = f"/v1/incidents/{incident['incident_id']}"

    own = await intake.client.get(path, headers=shop)
    assert own.status_code == 200 and own.json()["customer"]["phone"] is None
    assert_problem(await intake.client.get(path, headers=crm), 404)
    assert (await intake.client.get(path, headers=AUTH)).json()["customer"]["phone"] == "+420 1"

    customer, agent = {"kind": "customer"}, {"kind": "agent", "id": "ava"}
    said = await intake.client.post(
        f"{path}/comments", json={"author": customer, "body": "any news?"}, headers=shop
    )
    assert said.status_code == 201, said.text
    assert_problem(
        await intake.client.post(
            f"{path}/comments", json={"author": customer, "body": "me too"}, headers=crm
        ),
        404,
    )
    as_agent = await intake.client.post(
        f"{path}/comments", json={"author": agent, "body": "on it"}, headers=shop
    )
    assert assert_problem(as_agent, 403)["field"] == "body.author.kind"


async def test_idempotency_keys_and_dedup_keys_are_each_clients_own(
    intake: RunningIntake,
) -> None:
    shop = await intake.client_auth("shop", Scope.REPORT)
    crm = await intake.client_auth("crm", Scope.REPORT)
    key, dedup_key = str(uuid4()), f"disk-full-{uuid4()}"

    first = await intake.report(report_body(), key=key, auth=shop)
    other = await intake.report(report_body(), key=key, auth=crm)
    again = await intake.report(report_body(), key=key, auth=shop)
    assert (first.status_code, other.status_code, again.status_code) == (201, 201, 200)
    assert other.json()["incident_id"] != first.json()["incident_id"]
    assert again.json()["incident_id"] == first.json()["incident_id"]

    held = await intake.report(report_body(dedup_key=dedup_key), auth=shop)
    # The CRM cannot take the shop's incident over by its dedup_key: it gets one of its own.
    taken = await intake.report(report_body(dedup_key=dedup_key, title="Mine now"), auth=crm)
    repeat = await intake.report(report_body(dedup_key=dedup_key), auth=shop)
    assert (held.status_code, taken.status_code, repeat.status_code) == (201, 201, 200)
    assert taken.json()["incident_id"] != held.json()["incident_id"]
    assert taken.json()["client_id"] == "crm" and taken.json()["title"] == "Mine now"
    assert repeat.json()["incident_id"] == held.json()["incident_id"]

    keys = "SELECT string_agg(client_id, ',' ORDER BY client_id) FROM intake.idempotency_keys"
    assert await intake.scalar(keys) == "crm,shop"
    open_with_key = "SELECT count(*) FROM intake.incidents WHERE dedup_key = :key"
    assert await intake.scalar(open_with_key, key=dedup_key) == 2
    assert await intake.metric("incidents_deduplicated_total", via="idempotency_key") == 1
    assert await intake.metric("incidents_deduplicated_total", via="dedup_key") == 1


async def test_a_tier_in_a_report_needs_the_admin_scope(intake: RunningIntake) -> None:
    shop = await intake.client_auth("shop", Scope.REPORT)
    ops = await intake.client_auth("ops", Scope.REPORT, Scope.ADMIN)
    premium = {"email": "ann@example.com", "tier": "enterprise"}

    refused = await intake.report(report_body(customer=premium), auth=shop)
    problem = assert_problem(refused, 403)
    assert (problem["field"], problem["required_scopes"]) == ("body.customer.tier", ["admin"])
    assert await intake.scalar("SELECT count(*) FROM intake.customers") == 0

    taken = await intake.report(report_body(customer=premium), auth=ops)
    assert taken.status_code == 201 and taken.json()["customer"]["tier"] == "enterprise"
    # Without a tier, the shop's report gets the customer's.
    plain = await intake.report(report_body(customer={"email": "ann@example.com"}), auth=shop)
    assert plain.status_code == 201 and plain.json()["customer"]["tier"] == "enterprise"
