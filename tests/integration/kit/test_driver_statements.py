"""Statements run on the driver beneath a session (`incident_kit.driver`) belong to the session's
transaction: rolled back with it even when they are its first statement, committed with it;
and a statement the server refuses raises the DBAPIError the session would (IntegrityError for a
unique violation), without its parameters."""

import pytest
from incident_kit import driver
from incident_kit.database import create_engine
from sqlalchemy import Column, MetaData, Table, Text, bindparam, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

pytestmark = pytest.mark.integration

NOTES = Table("notes", MetaData(), Column("note_id", Text, primary_key=True), Column("body", Text))
ADD_NOTE = insert(NOTES).returning(NOTES.c.note_id)
NOTE_BY_ID = select(NOTES.c.body).where(NOTES.c.note_id == bindparam("wanted"))


async def test_driver_statements_share_the_sessions_transaction(fresh_database_url: str) -> None:
    engine = create_engine(fresh_database_url, application_name="driver-test")
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE notes (note_id text PRIMARY KEY, body text)"))
    try:
        # The first statement of the transaction, rolled back: nothing stays.
        async with sessions() as session:
            rows = await driver.fetch(
                session, ADD_NOTE, {"note_id": "n1", "body": "a"}, values_of=["note_id", "body"]
            )
            assert [row.note_id for row in rows] == ["n1"]
            await session.rollback()
        async with sessions.begin() as session:
            assert await driver.fetch(session, NOTE_BY_ID, {"wanted": "n1"}) == []
            await driver.fetch(
                session, ADD_NOTE, {"note_id": "n2", "body": "b"}, values_of=["note_id", "body"]
            )
        async with sessions() as session:
            (row,) = await driver.fetch(session, NOTE_BY_ID, {"wanted": "n2"})
            assert row.body == "b"

        with pytest.raises(IntegrityError) as refused:
            async with sessions.begin() as session:
                await driver.fetch(
                    session,
                    ADD_NOTE,
                    {"note_id": "n2", "body": "ann@example.org"},
                    values_of=["note_id", "body"],
                )
        assert refused.value.orig is not None
        assert getattr(refused.value.orig, "sqlstate", None) == "23505"  # unique violation
        assert "ann@example.org" not in str(refused.value)
    finally:
        await engine.dispose()


async def test_a_transaction_begun_on_the_driver_is_the_sessions_own(
    fresh_database_url: str,
) -> None:
    """Begun by a driver statement, the transaction is the one the session's later statements
    and savepoints run in, and the session's rollback undoes them all."""
    engine = create_engine(fresh_database_url, application_name="driver-test")
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE notes (note_id text PRIMARY KEY, body text)"))
    current = select(text("pg_current_xact_id()::text"))
    try:
        async with sessions() as session:
            (began,) = await driver.fetch(session, current, {})
            await session.execute(insert(NOTES).values(note_id="n1", body="a"))
            async with session.begin_nested():
                await session.execute(insert(NOTES).values(note_id="n2", body="b"))
            assert (await session.execute(current)).scalar_one() == began[0]
            await session.rollback()
        async with sessions() as session:
            assert (await session.execute(select(NOTES.c.note_id))).all() == []
    finally:
        await engine.dispose()


async def test_each_transaction_of_a_session_runs_its_own_driver_statements(
    fresh_database_url: str,
) -> None:
    """The driver connection a session's transaction found is kept for that transaction only:
    after a commit or a rollback, the session's next transaction runs the next statements, and
    undoes them when it is rolled back, though the pool may hand it another connection."""
    engine = create_engine(fresh_database_url, application_name="driver-test")
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE notes (note_id text PRIMARY KEY, body text)"))
    add = {"values_of": ["note_id", "body"]}
    current = select(text("pg_current_xact_id()::text"))
    try:
        async with sessions() as session:
            await driver.fetch(session, ADD_NOTE, {"note_id": "kept", "body": "a"}, **add)
            (first,) = await driver.fetch(session, current, {})
            await session.commit()
            await driver.fetch(session, ADD_NOTE, {"note_id": "undone", "body": "b"}, **add)
            (second,) = await driver.fetch(session, current, {})
            assert second[0] != first[0]
            await session.rollback()
            await driver.fetch(session, ADD_NOTE, {"note_id": "after", "body": "c"}, **add)
            await session.commit()
        async with sessions() as session:
            rows = await session.execute(select(NOTES.c.note_id).order_by(NOTES.c.note_id))
            assert rows.scalars().all() == ["after", "kept"]
    finally:
        await engine.dispose()


async def test_a_statement_alone_commits_by_itself_and_not_inside_a_transaction(
    fresh_database_url: str,
) -> None:
    """`fetch_alone`: its change stays though the session is never committed (it was its own
    transaction), and it refuses to run where it would silently leave a transaction's rules."""
    engine = create_engine(fresh_database_url, application_name="driver-test")
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE notes (note_id text PRIMARY KEY, body text)"))
    add_one = text("INSERT INTO notes VALUES ('n1', 'a') RETURNING note_id")
    try:
        async with sessions() as session:
            rows = await driver.fetch_alone(session, add_one, {})
            assert [row.note_id for row in rows] == ["n1"]
            await session.rollback()  # nothing of the session's to undo
        async with sessions() as session:
            (row,) = await driver.fetch(session, NOTE_BY_ID, {"wanted": "n1"})
            assert row.body == "a"

        async with sessions.begin() as session:
            await driver.fetch(session, NOTE_BY_ID, {"wanted": "n1"})
            with pytest.raises(RuntimeError, match="in a transaction"):
                await driver.fetch_alone(session, add_one, {})
    finally:
        await engine.dispose()
