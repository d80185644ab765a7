"""A 201 means durably committed whatever the server's default: every service session asks for
synchronous_commit=on itself, so a database configured with it off cannot lose acknowledged
commits of ours in a crash."""

import asyncpg
import pytest
from incident_kit.database import create_engine
from sqlalchemy import text
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.integration


async def test_service_sessions_commit_synchronously_on_a_lax_database(
    fresh_database_url: str,
) -> None:
    name = make_url(fresh_database_url).database
    lax = create_engine(fresh_database_url, application_name="lax-admin")
    async with lax.connect() as connection:
        await connection.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        await connection.commit()
    await lax.dispose()

    plain = await _setting_of_a_plain_client(fresh_database_url)
    assert plain == "off"  # what any other client of that database gets

    engine = create_engine(fresh_database_url, application_name="intake")
    async with engine.connect() as connection:
        seen = (await connection.execute(text("SHOW synchronous_commit"))).scalar_one()
    await engine.dispose()
    assert seen == "on"


async def _setting_of_a_plain_client(url: str) -> str:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return str(await connection.fetchval("SHOW synchronous_commit"))
    finally:
        await connection.close()
