"""Customers through intake's HTTP API on the real database and broker: one customer per
person across channels (merged by external id, e-mail and phone), possible duplicates recorded
and never merged, the integrated views GET /v1/customers/{id} and /incidents, the time zone
validated and published, the tier managed by admins, and a client that fills in but cannot
rewrite another client's customer."""

import asyncio
from typing import Any

import pytest
from incident_events.incidents import IncidentReported
from intake.domain import Scope
from integration.intake.support import AUTH, RunningIntake, report_body

pytestmark = pytest.mark.integration
REPORTED = "incident.reported.v1"


async def customer(intake: RunningIntake, named: str) -> dict[str, Any]:
    response = await intake.client.get(f"/v1/customers/{named}", headers=AUTH)
    assert response.status_code == 200, response.text
    record: dict[str, Any] = response.json()
    return record


async def reported_customer(intake: RunningIntake, **fields: Any) -> str:
    response = await intake.report(report_body(**fields))
    assert response.status_code == 201, response.text
    customer_id: str = response.json()["customer"]["customer_id"]
    return customer_id


async def test_one_customer_across_channels(intake: RunningIntake) -> None:
    ann = "email:ann@example.com"
    by_channel = [
        ("email", {"email": "Ann@Example.com", "name": "Ann"}),
        ("phone", {"email": "ann@example.com", "phone": "+420 777 123 456"}),
        ("fax", {"phone": "+420777123456"}),  # the phone alone finds her now
        ("web", {"customer_id": "crm-42", "email": "ann@example.com"}),  # links the CRM's id
        ("api", {"customer_id": "crm-42"}),
    ]
    for channel, who in by_channel:
        # A call or a fax is logged by an agent (the env key holds `agent`).
        logged = {"logged_by": "olga"} if channel in ("phone", "fax") else {}
        assert await reported_customer(intake, channel=channel, customer=who, **logged) == ann

    record = await customer(intake, "crm-42")  # any external id finds her
    assert record["customer_id"] == ann and record["name"] == "Ann"
    assert record["phone"] == "+420777123456"  # as the last report wrote it
    assert {(i["kind"], i["value"]) for i in record["identities"]} == {
        ("external", ann),
        ("external", "crm-42"),
        ("external", "phone:+420777123456"),
        ("email", "ann@example.com"),
        ("phone", "+420777123456"),
    }
    assert record["incidents"] == {
        "total": 5,
        "open": 5,
        "by_channel": {"api": 1, "email": 1, "fax": 1, "phone": 1, "web": 1},
        "by_status": {"new": 5},
    }
    assert record["possible_duplicates"] == []
    assert await intake.scalar("SELECT count(*) FROM intake.customers") == 1

    pages, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await intake.client.get(
            "/v1/customers/phone:+420777123456/incidents", params=params, headers=AUTH
        )
        assert page.status_code == 200, page.text
        pages.append(page.json()["items"])
        if (cursor := page.json()["next_cursor"]) is None:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    assert {i["channel"] for p in pages for i in p} == {c for c, _ in by_channel}
    missing = await intake.client.get("/v1/customers/nobody/incidents", headers=AUTH)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_a_report_naming_two_customers_goes_to_the_oldest(intake: RunningIntake) -> None:
    ann = await reported_customer(intake, customer={"email": "ann@example.com"})
    bob = await reported_customer(intake, customer={"phone": "+420 1", "name": "Bob"})
    # An unknown id, Bob's phone and Ann's e-mail: Ann is the older customer.
    both = {"customer_id": "crm-7", "phone": "+420 1", "email": "ann@example.com"}
    assert await reported_customer(intake, customer=both) == ann

    ann_record, bob_record = await customer(intake, ann), await customer(intake, bob)
    assert ann_record["possible_duplicates"] == [bob]
    assert bob_record["possible_duplicates"] == [ann]
    assert ann_record["phone"] is None  # Bob's phone stays Bob's
    assert ("phone", "+4201") in {(i["kind"], i["value"]) for i in bob_record["identities"]}
    assert (await customer(intake, "crm-7"))["customer_id"] == ann
    assert await intake.scalar("SELECT count(*) FROM intake.customer_duplicates") == 1


async def test_the_time_zone_is_validated_stored_and_published(intake: RunningIntake) -> None:
    zoned = {"email": "ann@example.com", "time_zone": "Europe/Prague"}
    incident = (await intake.report(report_body(customer=zoned))).json()
    assert incident["customer"]["time_zone"] == "Europe/Prague"
    event = await intake.reader.wait_for(
        lambda e: e.subject == incident["incident_id"] and e.type == REPORTED
    )
    assert isinstance(event.data, IncidentReported)
    assert event.data.customer.time_zone == "Europe/Prague"

    for bad in ("Mars/Olympus_Mons", "../../../etc/passwd", "europe/prague", "x" * 65):
        refused = await intake.report(report_body(customer={"email": "b@x.org", "time_zone": bad}))
        assert refused.status_code == 422, refused.text
        fields = [e["field"] for e in refused.json()["errors"]]
        assert fields == ["body.customer.time_zone"]


async def test_admins_manage_the_tier_and_later_reports_carry_it(intake: RunningIntake) -> None:
    ops = await intake.client_auth("ops", Scope.ADMIN)
    desk = await intake.client_auth("desk", Scope.AGENT)
    ann = await reported_customer(intake, customer={"email": "ann@example.com"})

    change = {"tier": "premium", "time_zone": "America/New_York", "language": "pl"}
    amended = await intake.client.patch(f"/v1/customers/{ann}", json=change, headers=ops)
    assert amended.status_code == 200, amended.text
    assert {k: amended.json()[k] for k in change} == change
    assert (await intake.client.get(f"/v1/customers/{ann}", headers=desk)).status_code == 200
    refused = await intake.client.patch(f"/v1/customers/{ann}", json=change, headers=desk)
    assert refused.status_code == 403

    later = (await intake.report(report_body(customer={"email": "ann@example.com"}))).json()
    event = await intake.reader.wait_for(
        lambda e: e.subject == later["incident_id"] and e.type == REPORTED
    )
    assert isinstance(event.data, IncidentReported)
    assert (event.data.customer.tier, event.data.customer.time_zone) == (
        "premium",
        "America/New_York",
    )

    for bad in ({}, {"tier": None}, {"tier": "gold"}, {"time_zone": "Nowhere"}, {"email": "a@b.c"}):
        response = await intake.client.patch(f"/v1/customers/{ann}", json=bad, headers=ops)
        assert response.status_code == 422, (bad, response.text)
    cleared = await intake.client.patch(
        f"/v1/customers/{ann}", json={"time_zone": None}, headers=ops
    )
    assert cleared.json()["time_zone"] is None
    nobody = await intake.client.patch("/v1/customers/nobody", json=change, headers=ops)
    assert nobody.status_code == 404


async def test_a_client_fills_in_but_cannot_rewrite_anothers_customer(
    intake: RunningIntake,
) -> None:
    shop = await intake.client_auth("shop", Scope.REPORT)
    crm = await intake.client_auth("crm", Scope.REPORT)
    made = {"email": "ann@example.com", "name": "Ann", "language": "cs"}
    assert (await intake.report(report_body(customer=made), auth=shop)).status_code == 201

    rewrite = {
        "email": "ann@example.com",
        "name": "Mallory",
        "language": "en",
        "phone": "+420 5",
        "time_zone": "Europe/Prague",
    }
    assert (await intake.report(report_body(customer=rewrite), auth=crm)).status_code == 201
    record = await customer(intake, "email:ann@example.com")
    assert (record["name"], record["language"]) == ("Ann", "cs")  # kept
    assert (record["phone"], record["time_zone"]) == ("+420 5", "Europe/Prague")  # filled in
    assert record["created_by_client"] == "shop"

    renamed = {"email": "ann@example.com", "name": "Ann Nováková"}
    assert (await intake.report(report_body(customer=renamed), auth=shop)).status_code == 201
    assert (await customer(intake, "email:ann@example.com"))["name"] == "Ann Nováková"


@pytest.mark.parametrize(
    "intake_settings",
    [
        {
            "group_commit_max_reports": 5,
            "group_commit_wait_ms": 1000,
            "group_commit_max_in_flight": 4,
        }
    ],
    ids=["4-groups-of-5-at-once"],
)
async def test_concurrent_groups_naming_a_new_person_make_one_customer(
    intake: RunningIntake,
) -> None:
    # Every report names Eve's e-mail, so one after another they make one customer in any
    # order. At once, each group would create her under another id (the CRM's, the
    # e-mail's); the identities' locks make the later groups find the first one's customer.
    eve = "eve@example.com"
    who = [
        {"customer_id": "crm-9", "email": eve},
        {"email": eve, "phone": "+420 9"},
        {"email": eve},
        {"customer_id": "crm-9", "email": eve, "phone": "+420 9"},
    ]
    bodies = [report_body(title=f"{n}", customer=who[n % 4]) for n in range(20)]
    responses = await asyncio.gather(*(intake.report(body) for body in bodies))
    assert [r.status_code for r in responses] == [201] * 20
    assert len({r.json()["customer"]["customer_id"] for r in responses}) == 1
    assert await intake.scalar("SELECT count(*) FROM intake.customers") == 1
    assert await intake.scalar("SELECT count(*) FROM intake.customer_duplicates") == 0
