"""Every service's OpenAPI, fuzzed by schemathesis with all its checks, on the real broker and
database: no 5xx; every status code, content type and header answered is documented; requests
valid by the schema are accepted and invalid ones refused; the API key is enforced; a 405 lists
the path's methods; and the stateful phase chains operations through their links.

Each service runs in-process on a loopback port (harness.serving) with a fresh database and a
topic prefix of its own; schemathesis runs as its command line in a subprocess, so this event
loop keeps serving meanwhile. Seeded and bounded (EXAMPLES per operation and phase), the four
take about five minutes together on two shared cores, intake nearly all of it.

No operation is left out. Two are only ever answered 404 under fuzzing, and schemathesis warns
so: sla's GET /v1/incidents/{incident_id}/sla and notifier's GET /status/{token} read what Kafka
events create, and no HTTP operation does. Their 200 answers are held to the same schema here
after an event made one (test_event_made_resources_conform). Intake's customer endpoints are
reached through the customers its fuzzed reports make (the stateful phase follows the links).
"""

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from harness import eventually, migrate, publish_event, serving
from incident_devstack.pytest_plugin import Infra
from incident_kit.clock import FrozenClock
from incident_kit.settings import ServiceSettings
from intake.app import create_app as create_intake
from intake.config import IntakeSettings
from integration.notifier.support import reported
from notifier.app import create_app as create_notifier
from notifier.config import NotifierSettings
from router.app import create_app as create_router
from router.config import RouterSettings
from sla.app import create_app as create_sla
from sla.config import SlaSettings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = pytest.mark.integration

KEY = "conformance-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
EXAMPLES = 30
SEED = 20250303
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")

AppFactory = Callable[[str, str, str], FastAPI]
S = TypeVar("S", bound=ServiceSettings)


def _settings(settings_class: type[S], kafka: str, database_url: str, prefix: str) -> S:
    return settings_class(
        kafka_bootstrap_servers=kafka,
        database_url=database_url,
        api_keys=KEY,
        kafka_topic_prefix=prefix,
    )


def _intake(kafka: str, database_url: str, prefix: str) -> FastAPI:
    settings = _settings(IntakeSettings, kafka, database_url, prefix)
    return create_intake(settings, FrozenClock(T0))


def _router(kafka: str, database_url: str, prefix: str) -> FastAPI:
    settings = _settings(RouterSettings, kafka, database_url, prefix)
    return create_router(settings, FrozenClock(T0))


def _sla(kafka: str, database_url: str, prefix: str) -> FastAPI:
    settings = _settings(SlaSettings, kafka, database_url, prefix)
    return create_sla(settings, FrozenClock(T0), timer_clock=FrozenClock(T0))


class _NoMail:
    """The fuzzer makes no incidents, so nothing is mailed; refuse loudly if that changes."""

    async def send(self, message: object) -> None:
        raise AssertionError("no mail expected under fuzzing")


def _notifier(kafka: str, database_url: str, prefix: str) -> FastAPI:
    settings = _settings(NotifierSettings, kafka, database_url, prefix)
    return create_notifier(settings, FrozenClock(T0), email_sender=_NoMail())


SERVICES: dict[str, AppFactory] = {
    "intake": _intake,
    "router": _router,
    "sla": _sla,
    "notifier": _notifier,
}


# Where a check cannot hold, and why: each entry is a separate run over those operations with
# those checks off; the main run leaves them out. Everything else runs with every check.
RULES = (
    r"^(GET /v1/incidents|GET /v1/customers/\{customer_id\}/incidents|"
    r"POST /v1/incidents/\{incident_id\}/(status|comments))$"
)
EXCEPTIONS: dict[str, list[tuple[str, ...]]] = {
    "intake": [
        # Rules beyond the schema, answered 422 naming the field: a cursor (of either listing)
        # must be one this API gave out, which no pattern can say; a resolution summary only
        # with `resolved`; a customer comment only by the incident's own customer. Schema-valid
        # requests breaking them are refused on purpose.
        (
            f"--include-name-regex={RULES}",
            "--exclude-checks=positive_data_acceptance",
            "--suppress-health-check=too_slow",
        ),
        # Alertmanager's payload is taken leniently (fields vary between its versions, labels
        # are free text); its own tests post what a real Alertmanager sends. The Events API
        # answers in PagerDuty's own shape (a 400 "invalid event", or 403 for a routing key
        # without `report`, as application/json, which its clients parse) and has PagerDuty's
        # rules (resolve needs a dedup_key; the routing key must be known).
        (
            "--include-path-regex=^/v1/integrations/(alertmanager|events)$",
            "--exclude-checks=positive_data_acceptance,negative_data_rejection,"
            "content_type_conformance",
        ),
    ],
}
# Left out of every run: the customer web form is an HTML page for browsers, with a CSRF token no
# fuzzer holds; it is tested in Chromium (tests/browser) and by its integration tests.
LEFT_OUT = {
    "intake": (
        # One filter: schemathesis joins the conditions of several filters with "and".
        "--exclude-name-regex=^((GET|POST) /report|POST /v1/integrations/(alertmanager|events)|"
        + RULES.strip("^$")
        + ")$",
    ),
}


async def run_schemathesis(base_url: str, workdir: Path, *options: str) -> tuple[int, str]:
    """`schemathesis run --checks all` against the served app; its exit code and output."""
    config = workdir / "schemathesis.toml"
    process = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        *([f"--config-file={config}"] if config.exists() else []),
        "run",
        f"{base_url}/openapi.json",
        *options,
        "--checks=all",
        f"--header=Authorization: Bearer {KEY}",
        f"--max-examples={EXAMPLES}",
        f"--seed={SEED}",
        "--generation-database=none",  # no examples carried over from an earlier run
        "--workers=1",  # two cores, shared with the app under test
        "--no-color",
        cwd=workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


# Intake's runs take about four minutes on two shared cores, too close to the suite's 300 s:
# most of it is schemathesis itself generating bodies for the rule-bound operations (RULES)
# from the answers about the incidents the first run made, not the service answering.
@pytest.mark.timeout(600)
@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_openapi_conforms_under_fuzzing(
    service: str, infra: Infra, fresh_database_url: str, kafka_topic_prefix: str, tmp_path: Path
) -> None:
    await asyncio.to_thread(migrate, fresh_database_url, service)
    app = SERVICES[service](infra.kafka_bootstrap_servers, fresh_database_url, kafka_topic_prefix)
    runs = [LEFT_OUT.get(service, ()), *EXCEPTIONS.get(service, [])]
    async with serving(app) as base_url:
        for options in runs:
            exit_code, output = await run_schemathesis(base_url, tmp_path, *options)
            assert exit_code == 0, output
            assert "Tested:" in output, output  # it ran against operations, not an empty schema


@dataclass(frozen=True)
class Served:
    base_url: str
    bootstrap: str
    prefix: str
    database_url: str


async def sla_incident(served: Served) -> dict[str, str]:
    """An incident sla learnt of from its incident.reported event."""
    incident_id = f"inc-{uuid4()}"
    await publish_event(served.bootstrap, reported(incident_id), prefix=served.prefix)
    async with httpx.AsyncClient(base_url=served.base_url, headers=AUTH) as client:

        async def known() -> bool:
            response = await client.get(f"/v1/incidents/{incident_id}/sla")
            return response.status_code == 200

        await eventually(known)
    return {"incident_id": incident_id}


async def status_token(served: Served) -> dict[str, str]:
    """The status link of an incident the notifier learnt of from its incident.reported event."""
    incident_id = f"inc-{uuid4()}"
    await publish_event(served.bootstrap, reported(incident_id), prefix=served.prefix)
    engine = create_async_engine(served.database_url)
    query = text("SELECT status_token FROM notifier.incidents WHERE incident_id = :id")

    async def token() -> str | None:
        async with engine.connect() as connection:
            found = await connection.scalar(query, {"id": incident_id})
        return None if found is None else str(found)

    try:
        return {"token": await eventually(token)}
    finally:
        await engine.dispose()


MadeByEvent = Callable[[Served], Awaitable[dict[str, str]]]
EVENT_MADE: dict[str, tuple[str, MadeByEvent]] = {
    "sla": ("/v1/incidents/{incident_id}/sla", sla_incident),
    "notifier": ("/status/{token}", status_token),
}


@pytest.mark.parametrize("service", sorted(EVENT_MADE))
async def test_event_made_resources_conform(
    service: str, infra: Infra, fresh_database_url: str, kafka_topic_prefix: str, tmp_path: Path
) -> None:
    """The operations fuzzing only gets 404 from, fuzzed again with the path naming a resource
    an event made, so that their 200 answers are checked too."""
    path, make = EVENT_MADE[service]
    bootstrap = infra.kafka_bootstrap_servers
    await asyncio.to_thread(migrate, fresh_database_url, service)
    app = SERVICES[service](bootstrap, fresh_database_url, kafka_topic_prefix)
    async with serving(app) as base_url:
        served = Served(base_url, bootstrap, kafka_topic_prefix, fresh_database_url)
        parameters = await make(served)
        values = "".join(f'{name} = "{value}"\n' for name, value in parameters.items())
        (tmp_path / "schemathesis.toml").write_text(f"[parameters]\n{values}")
        exit_code, output = await run_schemathesis(base_url, tmp_path, f"--include-path={path}")
    assert exit_code == 0, output
    assert "Missing test data" not in output, output
