"""Rows as statement parameters: parallel arrays unnested into a derived table."""

from collections.abc import Sequence

from sqlalchemy import Text, bindparam, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.selectable import TableValuedAlias


def as_text(value: object) -> str | None:
    return None if value is None else str(value)


def unnest_rows(alias: str, /, **columns: Sequence[str | None]) -> TableValuedAlias:
    """Rows from parallel text arrays, `unnest(:a, :b, ...) AS alias(a, b, ...)`: unlike VALUES,
    the statement is the same for any number of rows, so SQLAlchemy compiles it once."""
    arrays = (bindparam(name, list(values), type_=ARRAY(Text)) for name, values in columns.items())
    return func.unnest(*arrays).table_valued(*columns).render_derived(name=alias)
