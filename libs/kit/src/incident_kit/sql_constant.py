"""Constants spelled into a statement's SQL text instead of sent as parameters.

The services' hot queries are prepared statements (asyncpg prepares and caches every one).
After five executions PostgreSQL may switch a prepared statement to a generic plan, made once
for any parameter values, and a generic plan can use a partial index (`WHERE status =
'queued'`) only when the statement's own text implies the index's condition: `status = $1`
does not, so such a query silently falls back to reading the whole table once the plan
turns generic. Compare with these.
"""

from typing import Any

from sqlalchemy import ColumnElement, literal_column


def constant(value: str) -> ColumnElement[Any]:
    """`value` as a literal in the SQL text: 'queued' rather than $1. For the service's own
    fixed vocabulary only (statuses); never for anything a request or event supplies."""
    return literal_column("'" + value.replace("'", "''") + "'")
