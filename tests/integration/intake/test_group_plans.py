"""A group's lookups find rows through the keys' indexes even on a fresh database.

A group's transaction keeps one (generic) plan per statement, made at a connection's first
group. Made while the tables are empty, as on a fresh database, such a plan read
customer_identities and idempotency_keys whole, and went on doing so at every group as they
grew, until autovacuum's next ANALYZE. The settings of the groups' connections
(`reporting.GROUP_SETTINGS`) must keep those plans on the indexes. EXPLAIN EXECUTE of a
prepared statement shows the plan the group would use, under the same settings."""

import asyncio
import json
from typing import Any

import pytest
from harness import migrate
from incident_kit.database import create_engine
from intake.reporting import GROUP_SETTINGS
from intake.repository.customers import IDENTITY_OWNERS
from intake.repository.reports import BIND_KEYS
from sqlalchemy import TextClause
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

pytestmark = pytest.mark.integration


def scanned_whole(plan: dict[str, Any]) -> set[str]:
    """The tables a plan reads whole (sequential scans), at any depth."""
    tables = {plan["Relation Name"]} if plan["Node Type"] == "Seq Scan" else set()
    for child in plan.get("Plans", []):
        tables |= scanned_whole(child)
    return tables


async def generic_plan(driver: Any, statement: TextClause, arguments: str) -> dict[str, Any]:
    """The plan of the statement as the group runs it, on the asyncpg connection `driver`."""
    sql = str(statement.compile(dialect=asyncpg_dialect()))  # type: ignore[no-untyped-call]
    await driver.execute(f"PREPARE probe AS {sql}")
    document = await driver.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE probe({arguments})")
    await driver.execute("DEALLOCATE probe")
    return dict((json.loads(document) if isinstance(document, str) else document)[0]["Plan"])


async def test_a_fresh_databases_group_lookups_use_the_key_indexes(
    fresh_database_url: str,
) -> None:
    await asyncio.to_thread(migrate, fresh_database_url, "intake")
    engine = create_engine(fresh_database_url, server_settings=GROUP_SETTINGS)
    try:
        async with engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            # One plan for every group, made at once (by default, after five custom ones).
            plan_cache_mode = await driver.fetchval("SHOW plan_cache_mode")
            owners = await generic_plan(
                driver, IDENTITY_OWNERS, "ARRAY['email'], ARRAY['ann@example.org']"
            )
            bind = await generic_plan(driver, BIND_KEYS, "ARRAY['c'], ARRAY['k'], ARRAY['i']")
    finally:
        await engine.dispose()

    assert plan_cache_mode == "force_generic_plan"
    assert scanned_whole(owners) == set(), owners
    assert scanned_whole(bind) == set(), bind
