"""GET/POST /report on the real database and broker: the form in the customer's language, a
report through it becoming an incident of channel web, refused without its CSRF token (403),
fields to correct named in the form (422, in the customer's language, what they typed kept and
escaped), a reload giving the same incident, and the rate limit per address (429)."""

import html
import re
from typing import Any

import httpx
import pytest
from integration.intake.support import RunningIntake
from markupsafe import escape

pytestmark = pytest.mark.integration
HOSTILE = '<script>alert("x")</script> Tiskárna'


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden field {name}"
    return html.unescape(found.group(1))


async def open_form(client: httpx.AsyncClient, query: str = "?lang=cs") -> dict[str, str]:
    page = await client.get(f"/report{query}")
    assert page.status_code == 200
    return {name: hidden(page.text, name) for name in ("csrf_token", "form_id", "lang")}


def filled(form: dict[str, str], **changes: str) -> dict[str, str]:
    return {
        **form,
        "name": "Jana Nováková",
        "email": "jana@example.cz",
        "title": HOSTILE,
        "description": "Od rána netiskne.",
        "severity": "high",
        "kind": "incident",
        **changes,
    }


async def test_the_form_in_the_customers_language(intake: RunningIntake) -> None:
    czech = await intake.client.get("/report?lang=cs")
    assert czech.status_code == 200 and czech.headers["content-type"].startswith("text/html")
    assert '<html lang="cs">' in czech.text and '<label for="email">E-mailová adresa' in czech.text
    assert "frame-ancestors 'none'" in czech.headers["content-security-policy"]
    cookie = czech.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/report" in cookie
    polish = await intake.client.get(
        "/report", headers={"Accept-Language": "de, pl;q=0.8, en;q=0.5"}
    )
    assert '<html lang="pl">' in polish.text and "Zgłoś problem" in polish.text
    russian = await intake.client.get("/report?lang=ru")
    assert "Сообщить о проблеме" in russian.text
    unknown = await intake.client.get("/report?lang=xx")
    assert '<html lang="en">' in unknown.text


async def test_a_report_through_the_form(intake: RunningIntake) -> None:
    form = await open_form(intake.client)
    sent = await intake.client.post("/report?lang=cs", data=filled(form))
    assert sent.status_code == 201, sent.text
    reference = re.search(r'id="reference">(INC-\d+)<', sent.text)
    assert reference and "Děkujeme" in sent.text
    again = await intake.client.post("/report?lang=cs", data=filled(form))  # a reload
    assert again.status_code == 201 and reference.group(1) in again.text
    items = (
        await intake.client.get("/v1/incidents", headers={"Authorization": "Bearer k"})
    ).json()["items"]
    [incident] = items
    assert (incident["reference"], incident["channel"], incident["language"]) == (
        reference.group(1),
        "web",
        "cs",
    )
    assert incident["title"] == HOSTILE and incident["severity"] == "high"
    assert incident["customer"]["customer_id"] == "email:jana@example.cz"
    assert incident["customer"]["language"] == "cs"
    assert await intake.metric("incidents_reported_total", channel="web", severity="high") == 1

    changed = await intake.client.post("/report?lang=cs", data=filled(form, title="Jiný problém"))
    assert changed.status_code == 422 and "už byl odeslán" in changed.text


async def test_without_its_csrf_token_a_post_is_refused(intake: RunningIntake) -> None:
    form = await open_form(intake.client)
    missing = await intake.client.post("/report", data=filled(form, csrf_token=""))
    assert missing.status_code == 403 and "expired" not in missing.text
    assert "Platnost formuláře vypršela" in missing.text
    forged = filled(form, csrf_token=form["csrf_token"][:-4] + "0000")
    assert (await intake.client.post("/report", data=forged)).status_code == 403
    intake.client.cookies.clear()  # as from another site: the token without its cookie
    assert (await intake.client.post("/report", data=filled(form))).status_code == 403
    assert await intake.scalar("SELECT count(*) FROM intake.incidents") == 0


async def test_fields_to_correct_are_named_in_the_form(intake: RunningIntake) -> None:
    form = await open_form(intake.client)
    bad = filled(form, email="jana@", description="  ", title=HOSTILE, phone="call me")
    answer = await intake.client.post("/report?lang=cs", data=bad)
    assert answer.status_code == 422
    page = answer.text
    assert 'role="alert"' in page
    assert re.search(
        r'id="email"[^>]*aria-describedby="email-hint email-error" aria-invalid="true"', page
    )
    assert 'id="email-error">Zadejte prosím platnou e-mailovou adresu' in page
    assert 'id="description-error">Vyplňte prosím toto pole.' in page
    assert 'id="phone-error">Zadejte prosím telefonní číslo' in page
    assert 'value="jana@"' in page  # what was typed stays
    assert f'value="{escape(HOSTILE)}"' in page and HOSTILE not in page
    assert await intake.scalar("SELECT count(*) FROM intake.incidents") == 0


async def test_a_body_that_is_not_a_form(intake: RunningIntake) -> None:
    answer = await intake.client.post("/report", json={"title": "x"})
    assert answer.status_code == 415 and "text/html" in answer.headers["content-type"]
    flood = "&".join(f"f{number}=x" for number in range(60))
    headers = {"content-type": "application/x-www-form-urlencoded"}
    assert (await intake.client.post("/report", content=flood, headers=headers)).status_code == 400
    broken = b"title=%ff%fe&email=\xff"
    assert (await intake.client.post("/report", content=broken, headers=headers)).status_code == 403


@pytest.mark.parametrize("intake_settings", [{"form_reports_per_minute": 2}])
async def test_reports_per_address_are_limited(intake: RunningIntake, intake_settings: Any) -> None:
    for number in range(2):
        form = await open_form(intake.client)
        sent = await intake.client.post("/report", data=filled(form, title=f"Problem {number}"))
        assert sent.status_code == 201
    form = await open_form(intake.client)
    third = await intake.client.post("/report", data=filled(form, title="Problem 3"))
    assert third.status_code == 429 and third.headers["retry-after"] == "60"
    assert "Počkejte prosím minutu" in third.text
