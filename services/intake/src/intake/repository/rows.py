"""Rows as statement parameters: parallel arrays unnested into a derived table, in statements
written once as SQL text. Their text is the same for any number of rows, so SQLAlchemy and the
server prepare each once; and they skip the ORM's per-row work, which cost intake more CPU than
the database did for the same rows."""

from sqlalchemy import Table
from sqlalchemy.orm import DeclarativeBase


def as_text(value: object) -> str | None:
    return None if value is None else str(value)


def unnest(*columns: tuple[str, str]) -> str:
    """`unnest(CAST(:a AS type[]), ...) WITH ORDINALITY AS given(a, ..., position)` for
    (name, PostgreSQL type) pairs: one row per array index, numbered in the arrays' order."""
    arrays = ", ".join(f"CAST(:{name} AS {sql_type}[])" for name, sql_type in columns)
    names = ", ".join(name for name, _ in columns)
    return f"unnest({arrays}) WITH ORDINALITY AS given({names}, position)"


def name_of(row_class: type[DeclarativeBase]) -> str:
    """The schema-qualified name of the row class's table, for SQL text."""
    table = row_class.__table__
    assert isinstance(table, Table)
    return table.fullname
