"""Customer preferences over HTTP: stored, used for the language and address of messages, and
guarded by an API key with precise problem+json errors."""

from typing import Any
from uuid import uuid4

import pytest
from integration.notifier.support import (
    AUTH,
    DELIVERED,
    T0,
    NotifierUnderTest,
    clock_started,
    reported,
)

pytestmark = pytest.mark.integration


async def test_preferences_choose_the_language_and_address(notifier: NotifierUnderTest) -> None:
    customer_id, incident_id = f"cust-{uuid4().hex[:8]}", f"inc-{uuid4()}"
    body = {"language": "ru", "email": "jana@work.example.com", "channels": ["email"]}

    put = await notifier.client.put(
        f"/v1/customers/{customer_id}/preferences", json=body, headers=AUTH
    )
    got = await notifier.client.get(f"/v1/customers/{customer_id}/preferences", headers=AUTH)

    assert put.status_code == 200
    assert (
        got.json()
        == put.json()
        == body
        | {
            "customer_id": customer_id,
            "updated_at": T0.isoformat().replace("+00:00", "Z"),
        }
    )
    await notifier.publish(reported(incident_id, language="cs", customer_id=customer_id))
    await notifier.publish(clock_started(incident_id))
    delivered = await notifier.fact(incident_id, DELIVERED, "acknowledgement")
    [mail] = notifier.mails_of(incident_id)
    assert mail["To"] == "jana@work.example.com"
    assert "Мы получили ваше обращение" in mail["Subject"]
    assert delivered.data.model_dump(include={"language"}) == {"language": "ru"}


async def test_requests_without_a_valid_key_are_refused(notifier: NotifierUnderTest) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = await notifier.client.put(
            "/v1/customers/c-1/preferences", json={"channels": ["email"]}, headers=headers
        )
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"


BAD_PREFERENCES: list[tuple[dict[str, Any], str]] = [
    ({"language": "czech language"}, "body.language"),
    ({"email": "not-an-address"}, "body.email"),
    ({"channels": ["pigeon"]}, "body.channels.0"),
    ({"channels": "email"}, "body.channels"),
    ({"colour": "blue"}, "body.colour"),
]


async def test_bad_preferences_get_a_problem_naming_the_field(
    notifier: NotifierUnderTest,
) -> None:
    for body, field in BAD_PREFERENCES:
        response = await notifier.client.put(
            "/v1/customers/c-1/preferences", json=body, headers=AUTH
        )

        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert field in [error["field"] for error in problem["errors"]], problem
        assert field in problem["detail"]


async def test_unknown_customer_preferences_are_a_404_problem(
    notifier: NotifierUnderTest,
) -> None:
    response = await notifier.client.get("/v1/customers/nobody/preferences", headers=AUTH)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
