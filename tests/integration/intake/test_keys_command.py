"""`python -m intake keys create|list|revoke` on the real database, with the running intake: a
created key works with its scopes, is stored only as a digest, is listed, and once revoked stops
working when the replica's cache of it expires (INTAKE_API_KEY_CACHE_SECONDS)."""

import asyncio
import io
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from intake import keys_command
from integration.intake.support import RunningIntake, report_body

pytestmark = pytest.mark.integration


async def keys(intake: RunningIntake, *argv: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the command's main() (off the test's event loop: it runs one of its own)."""
    monkeypatch.setenv("DATABASE_URL", intake.engine.url.render_as_string(hide_password=False))
    out = io.StringIO()
    code = await asyncio.to_thread(keys_command.main, list(argv), out=out)
    assert code == 0, out.getvalue()
    return out.getvalue()


async def test_a_created_key_works_until_revoked(
    intake: RunningIntake, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = (
        await keys(
            intake, "create", "--client", "shop", "--scopes", "report", monkeypatch=monkeypatch
        )
    ).strip()
    assert key.startswith("ik_")
    auth = {"Authorization": f"Bearer {key}"}
    reported = await intake.report(report_body(), auth=auth)
    assert reported.status_code == 201 and reported.json()["client_id"] == "shop"
    assert (await intake.client.get("/v1/incidents", headers=auth)).status_code == 403
    stored = "SELECT count(*) FROM intake.api_keys WHERE key_digest = :key OR key_id = :key"
    assert await intake.scalar(stored, key=key) == 0  # only its digest is kept

    listing = await keys(intake, "list", monkeypatch=monkeypatch)
    header, row = listing.splitlines()
    assert header.split()[:3] == ["CLIENT", "KEY", "ID"]
    assert row.split()[:3] == ["shop", key[3:15], "report"] and row.split()[-1] == "-"

    revoked = await keys(intake, "revoke", "--client", "shop", monkeypatch=monkeypatch)
    assert revoked.strip() == f"revoked {key[3:15]}"
    # Trusted for the cache's time (30 s by default), then refused.
    assert (await intake.report(report_body(), auth=auth)).status_code == 201
    intake.clock.advance(timedelta(seconds=31))
    assert (await intake.report(report_body(), auth=auth)).status_code == 401
    listed_again = (await keys(intake, "list", monkeypatch=monkeypatch)).splitlines()[1]
    assert listed_again.split()[-1].startswith("20")  # when it was revoked


async def test_the_command_runs_as_a_module_and_refuses_bad_arguments(
    intake: RunningIntake,
) -> None:
    env = {**os.environ, "DATABASE_URL": intake.engine.url.render_as_string(hide_password=False)}

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "intake", "keys", *argv]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    created = await asyncio.to_thread(run, "create", "--client", "desk", "--scopes", "agent,report")
    assert created.returncode == 0, created.stderr
    assert "keep the key now" in created.stderr and created.stdout.startswith("ik_")
    auth = {"Authorization": f"Bearer {created.stdout.strip()}"}
    assert (await intake.client.get("/v1/incidents", headers=auth)).status_code == 200

    for argv, complaint in [
        (("create", "--client", "desk", "--scopes", "root"), "unknown scope root"),
        (("create", "--client", "env", "--scopes", "admin"), "built-in client"),
        (("create", "--client", "web-form", "--scopes", "report"), "built-in client of a channel"),
        (("create", "--client", "Has Spaces", "--scopes", "admin"), "lower-case letters"),
        (("revoke", "--client", "nobody"), "no key in use to revoke"),
    ]:
        refused = await asyncio.to_thread(run, *argv)
        assert refused.returncode != 0 and complaint in refused.stderr, refused.stderr
