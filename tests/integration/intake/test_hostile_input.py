"""Malformed and hostile requests to the lifecycle endpoints are 4xx problem+json naming the
field, never a 5xx: NUL bytes (PostgreSQL text cannot hold them), lone surrogates, malformed
JSON, the wrong shape or content type, forged cursors, absurd numbers."""

import pytest
from integration.intake.support import AUTH, RunningIntake, report_body

pytestmark = pytest.mark.integration
JSON = "application/json"
# A cursor whose incident id is a NUL: ["2026-01-01T00:00:00+00:00", "\u0000"].
FORGED_CURSOR = "WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwiXHUwMDAwIl0"


async def test_hostile_requests_are_answered_4xx_naming_the_field(intake: RunningIntake) -> None:
    iid = (await intake.report(report_body())).json()["incident_id"]
    status_body = '{"status": "closed", "reason": "r"}'
    probes = [
        ("GET", "/v1/incidents/%00", None, None, "path.incident_id"),
        ("GET", "/v1/incidents/" + "x" * 65, None, None, "path.incident_id"),
        ("POST", "/v1/incidents/%00/status", status_body, JSON, "path.incident_id"),
        ("PATCH", "/v1/incidents/a%20b", '{"kind": "billing"}', JSON, "path.incident_id"),
        ("GET", "/v1/incidents?customer=%00", None, None, "query.customer"),
        ("GET", "/v1/incidents?assignee=%00", None, None, "query.assignee"),
        ("GET", f"/v1/incidents?cursor={FORGED_CURSOR}", None, None, "query.cursor"),
        ("GET", "/v1/incidents?limit=99999999999999999999999", None, None, "query.limit"),
        ("POST", f"/v1/incidents/{iid}/comments", _comment('"\\ud800"'), JSON, "body.body"),
        ("POST", f"/v1/incidents/{iid}/comments", '{"author":', JSON, "body"),
        ("POST", f"/v1/incidents/{iid}/comments", "[]", JSON, "body"),
        (
            "POST",
            f"/v1/incidents/{iid}/comments",
            "body=x",
            "application/x-www-form-urlencoded",
            "body",
        ),
        (
            "POST",
            f"/v1/incidents/{iid}/status",
            '{"status": 1, "reason": "r"}',
            JSON,
            "body.status",
        ),
        (
            "PATCH",
            f"/v1/incidents/{iid}",
            '{"severity": "low", "reason": "\\u0000"}',
            JSON,
            "body.reason",
        ),
        ("PATCH", f"/v1/incidents/{iid}", '{"severity": "low"}', "text/plain", "body"),
    ]
    for method, path, body, content_type, field in probes:
        headers = {**AUTH, **({"content-type": content_type} if content_type else {})}
        response = await intake.client.request(method, path, content=body, headers=headers)
        assert 400 <= response.status_code < 500, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        fields = [e["field"] for e in response.json().get("errors", [])]
        assert any(f.startswith(field) for f in fields), (path, field, response.text)


def _comment(body: str) -> str:
    return '{"author": {"kind": "agent", "id": "olga"}, "body": ' + body + "}"
