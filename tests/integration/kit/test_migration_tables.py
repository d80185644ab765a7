"""The services' migrations create the kit's outbox and inbox (incident_kit.migration_tables)
and nothing else than their metadata describes.

A fresh database is upgraded with every service's migrations. Its outbox and inbox are compared,
as PostgreSQL reflects them, with the same tables created by SQLAlchemy from
`outbox_table`/`inbox_table` in a database of their own; and alembic's autogenerate compares
each service's metadata with its migrated schema. Downgrading removes every table again.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import harness
import intake.tables
import notifier.tables
import pytest
import router.tables
import sla.tables
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from incident_devstack.postgres import create_database, drop_database
from incident_devstack.pytest_plugin import Infra
from incident_kit.database import create_engine, service_metadata
from incident_kit.inbox import inbox_table
from incident_kit.migrations import alembic_config
from incident_kit.outbox import outbox_table
from integration.kit.support import create_tables
from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.integration

SERVICE_METADATA = {
    str(metadata.schema): metadata
    for metadata in (
        intake.tables.metadata,
        router.tables.metadata,
        sla.tables.metadata,
        notifier.tables.metadata,
    )
}
KIT_TABLES = ("outbox", "inbox")


def migrations_dir(service: str) -> Path:
    return harness.REPO / "services" / service / "migrations"


def kit_metadata(schema: str) -> MetaData:
    metadata = service_metadata(schema)
    outbox_table(metadata)
    inbox_table(metadata)
    return metadata


@pytest.fixture
async def migrated(fresh_database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a database that every service's migrations have upgraded to head."""
    for service in SERVICE_METADATA:
        # Alembic runs its own event loop, so it may not run on the test's loop thread.
        await asyncio.to_thread(harness.migrate, fresh_database_url, service)
    engine = create_engine(fresh_database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def kit_created(infra: Infra) -> AsyncIterator[AsyncEngine]:
    """An engine on a second database holding, in each service's schema, only the kit's tables
    as SQLAlchemy creates them from their definitions."""
    name = f"test_{uuid.uuid4().hex[:20]}"
    engine = create_engine(create_database(name, database_url=infra.database_url))
    for schema in SERVICE_METADATA:
        await create_tables(engine, kit_metadata(schema))
    yield engine
    await engine.dispose()
    drop_database(name, database_url=infra.database_url)


def described(connection: Connection, schema: str, table: str) -> dict[str, Any]:
    """A table as PostgreSQL holds it, as plain data: columns in order (type as DDL,
    nullability, default, identity), keys, indexes (with their predicate) and constraints."""
    inspector = inspect(connection)
    columns = []
    for reflected in inspector.get_columns(table, schema=schema):
        column = dict(reflected)
        column["type"] = reflected["type"].compile(dialect=connection.dialect)
        columns.append(column)

    def by_name(items: list[Any]) -> list[Any]:
        return sorted(items, key=lambda item: str(item["name"]))

    return {
        "columns": columns,
        "primary key": inspector.get_pk_constraint(table, schema=schema),
        "unique constraints": by_name(inspector.get_unique_constraints(table, schema=schema)),
        "indexes": by_name(inspector.get_indexes(table, schema=schema)),
        "foreign keys": by_name(inspector.get_foreign_keys(table, schema=schema)),
        "check constraints": by_name(inspector.get_check_constraints(table, schema=schema)),
    }


async def describe(engine: AsyncEngine, schema: str, table: str) -> dict[str, Any]:
    async with engine.connect() as connection:
        return await connection.run_sync(described, schema, table)


def differences(connection: Connection, metadata: MetaData) -> list[Any]:
    """What `alembic revision --autogenerate` would write for this service: nothing, if its
    migrations create what its metadata says (types and server defaults included)."""
    schema = str(metadata.schema)
    context = MigrationContext.configure(
        connection,
        opts={
            "include_schemas": True,
            "include_name": lambda name, kind, _: kind != "schema" or name == schema,
            "version_table_schema": schema,
            "compare_type": True,
            "compare_server_default": True,
        },
    )
    return list(compare_metadata(context, metadata))


async def test_every_service_schema_holds_the_kits_outbox_and_inbox(
    migrated: AsyncEngine, kit_created: AsyncEngine
) -> None:
    for schema in SERVICE_METADATA:
        for table in KIT_TABLES:
            migrated_table = await describe(migrated, schema, table)
            assert migrated_table == await describe(kit_created, schema, table), (schema, table)
    # The comparison is of something: the outbox's identity, unique key and partial index.
    outbox = await describe(migrated, "router", "outbox")
    assert outbox["columns"][0]["identity"]["always"] is False
    assert [u["name"] for u in outbox["unique constraints"]] == ["uq_outbox_event_id"]
    unpublished = next(i for i in outbox["indexes"] if i["name"] == "ix_outbox_unpublished")
    assert unpublished["dialect_options"]["postgresql_where"] == "(published_at IS NULL)"


async def test_every_service_outbox_is_vacuumed_after_a_thousand_changed_rows(
    migrated: AsyncEngine,
) -> None:
    # The relay's claims read the leftover index entries of published rows until a vacuum.
    query = text(
        "SELECT n.nspname, c.reloptions FROM pg_class AS c"
        " JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE c.relname = 'outbox'"
    )
    async with migrated.connect() as connection:
        options = {row.nspname: row.reloptions for row in await connection.execute(query)}
    expected = ["autovacuum_vacuum_scale_factor=0", "autovacuum_vacuum_threshold=1000"]
    assert {schema: options.get(schema) for schema in SERVICE_METADATA} == dict.fromkeys(
        SERVICE_METADATA, expected
    )


# alembic only warns when a generated column's expression differs (it cannot alter one).
@pytest.mark.filterwarnings("error:Computed default")
async def test_autogenerate_finds_no_difference_between_metadata_and_migrations(
    migrated: AsyncEngine,
) -> None:
    async with migrated.connect() as connection:
        found = {
            schema: await connection.run_sync(differences, metadata)
            for schema, metadata in SERVICE_METADATA.items()
        }
    assert found == {schema: [] for schema in SERVICE_METADATA}


async def test_downgrade_drops_every_table(migrated: AsyncEngine) -> None:
    url = migrated.url.render_as_string(hide_password=False)
    for service in SERVICE_METADATA:
        config = alembic_config(url, migrations_dir(service))
        await asyncio.to_thread(command.downgrade, config, "base")

    def table_names(connection: Connection) -> dict[str, list[str]]:
        inspector = inspect(connection)
        return {schema: inspector.get_table_names(schema=schema) for schema in SERVICE_METADATA}

    async with migrated.connect() as connection:
        left = await connection.run_sync(table_names)
    assert left == {schema: ["alembic_version"] for schema in SERVICE_METADATA}
