"""Constants are written into the SQL text (so a generic plan can use a partial index), and a
quote in one cannot end the literal early."""

from typing import Any

from incident_kit.sql_constant import constant
from sqlalchemy import Select, column, select


def sql_of(statement: Select[Any]) -> str:
    return str(statement)


def test_a_status_is_spelled_in_the_statement_not_sent_as_a_parameter() -> None:
    statement: Select[Any] = select(column("id")).where(column("status") == constant("queued"))
    assert sql_of(statement).endswith("WHERE status = 'queued'")


def test_a_quote_inside_a_constant_is_doubled() -> None:
    assert sql_of(select(constant("it's"))) == "SELECT 'it''s'"
