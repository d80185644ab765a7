"""GET /v1/incidents (filters, cursor pages) and PATCH /v1/incidents/{id} (severity and kind as
facts of their own) on the real database and broker."""

from datetime import timedelta
from typing import Any

import pytest
from integration.intake.support import AUTH, RunningIntake, report_body

pytestmark = pytest.mark.integration


async def listed(intake: RunningIntake, **params: Any) -> dict[str, Any]:
    response = await intake.client.get("/v1/incidents", params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_listing_filters_and_pages_newest_first(intake: RunningIntake) -> None:
    ids = []
    for i in range(5):
        customer = {"customer_id": "crm-1" if i % 2 else "crm-2"}
        severity = "low" if i < 3 else "critical"
        response = await intake.report(report_body(severity=severity, customer=customer))
        ids.append(response.json()["incident_id"])
        intake.clock.advance(timedelta(seconds=1 if i != 2 else 0))  # a tie on created_at too
    await intake.move(ids[0], "resolved", resolution_summary="dup")

    everything = await listed(intake)
    assert [i["incident_id"] for i in everything["items"]] == _newest_first(ids)
    assert everything["next_cursor"] is None

    seen, cursor = [], None
    while True:
        page = await listed(intake, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [i["incident_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == _newest_first(ids)

    def only(*picked: int) -> list[str]:
        return [i for i in _newest_first(ids) if i in {ids[p] for p in picked}]

    assert _ids(await listed(intake, status="resolved")) == [ids[0]]
    assert _ids(await listed(intake, status=["new", "resolved"])) == _newest_first(ids)
    assert _ids(await listed(intake, status="new")) == only(1, 2, 3, 4)
    assert _ids(await listed(intake, severity="critical")) == only(3, 4)
    assert _ids(await listed(intake, customer="crm-1")) == only(1, 3)
    assert _ids(await listed(intake, customer="crm-1", severity="low")) == [ids[1]]
    assert _ids(await listed(intake, assignee="olga")) == []


def _newest_first(ids: list[str]) -> list[str]:
    # Reported one second apart, except the 3rd and 4th at the same instant (then by id).
    seconds = [0, 1, 2, 2, 3]
    return [i for _, i in sorted(zip(seconds, ids, strict=True), reverse=True)]


def _ids(page: dict[str, Any]) -> list[str]:
    return [item["incident_id"] for item in page["items"]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "sleeping"}, "query.status"),
        ({"severity": "urgent"}, "query.severity"),
        ({"limit": 0}, "query.limit"),
        ({"limit": "many"}, "query.limit"),
        ({"cursor": "not-a-cursor"}, "query.cursor"),
    ],
)
async def test_bad_listing_queries_name_the_parameter(
    intake: RunningIntake, params: dict[str, Any], field: str
) -> None:
    response = await intake.client.get("/v1/incidents", params=params, headers=AUTH)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert any(e["field"].startswith(field) for e in response.json()["errors"])


async def test_severity_and_kind_changes_are_facts_of_their_own(intake: RunningIntake) -> None:
    incident_id = (await intake.report(report_body(kind="billing"))).json()["incident_id"]
    path = f"/v1/incidents/{incident_id}"
    change = {"severity": "critical", "kind": "complaint", "reason": "misfiled", "changed_by": "o"}
    response = await intake.client.patch(path, json=change, headers=AUTH)
    assert response.status_code == 200, response.text
    assert (response.json()["severity"], response.json()["kind"]) == ("critical", "complaint")
    same = await intake.client.patch(path, json={"severity": "critical"}, headers=AUTH)
    assert same.status_code == 200

    kinds = await intake.reader.wait_for(
        lambda e: e.subject == incident_id and e.type == "incident.kind_changed.v1"
    )
    assert (kinds.data.from_kind, kinds.data.to_kind) == ("billing", "complaint")  # type: ignore[attr-defined]
    severities = [e for e in intake.reader.seen if e.type == "incident.severity_changed.v1"]
    assert [(e.data.from_severity, e.data.to_severity) for e in severities] == [  # type: ignore[attr-defined]
        ("high", "critical")
    ]
    assert await intake.metric("incident_amendments_total", field="severity") == 1

    for body, status, field in [
        ({}, 422, "body"),
        ({"kind": "outage"}, 422, "body.kind"),
        ({"severity": 3}, 422, "body.severity"),
    ]:
        refused = await intake.client.patch(path, json=body, headers=AUTH)
        assert refused.status_code == status
        assert field in [e["field"] for e in refused.json()["errors"]]
    await intake.move(incident_id, "resolved", resolution_summary="refunded")
    closed = await intake.client.patch(path, json={"severity": "low"}, headers=AUTH)
    assert closed.status_code == 409 and closed.json()["current_status"] == "resolved"
