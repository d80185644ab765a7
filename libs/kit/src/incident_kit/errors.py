"""What kind of failure an exception is, which decides what the consumer does about it.

- Poison: the message can never succeed (it does not parse, or breaks a domain rule). It goes
  to the dead-letter topic at once.
- Infrastructure: a dependency is unavailable (database, broker, mail server) or the database
  asked us to try again (serialization failure, deadlock). It is waited out, never dead-lettered.
- Anything else is a defect met by one message: retried a few times in place, then parked.

The reason written into a dead letter is redacted: it names the error class and, for database
errors, the SQLSTATE, never the SQL parameters or the personal data they may carry.
"""

import random
import socket
from collections.abc import Iterator

from aiokafka.errors import KafkaConnectionError, KafkaError
from incident_events import EventParseError
from pydantic import ValidationError
from sqlalchemy import exc as sql_errors


class PoisonMessage(Exception):
    """Raised by a handler for a message that can never succeed (e.g. an unknown incident)."""


class InfrastructureUnavailable(Exception):
    """Raised by a handler when a dependency it needs is down; the batch is retried later."""


POISON = (EventParseError, ValidationError, PoisonMessage, UnicodeDecodeError)

# SQLSTATE classes and codes that mean "not now": connection exceptions, transaction rollbacks
# (serialization failure, deadlock), insufficient resources, operator intervention (shutdown).
_RETRIABLE_SQLSTATE_PREFIXES = ("08", "40", "53", "57P")


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def sqlstate_of(error: BaseException) -> str | None:
    for link in _chain(error):
        code = getattr(link, "sqlstate", None) or getattr(link, "pgcode", None)
        if isinstance(code, str):
            return code
    return None


def is_poison(error: BaseException) -> bool:
    return isinstance(error, POISON)


def is_infrastructure_error(error: BaseException) -> bool:
    """True when waiting can cure it: a dependency down or a transient database conflict."""
    code = sqlstate_of(error)
    if code is not None and code.startswith(_RETRIABLE_SQLSTATE_PREFIXES):
        return True
    for link in _chain(error):
        if isinstance(link, sql_errors.DBAPIError) and link.connection_invalidated:
            return True
        if isinstance(
            link,
            InfrastructureUnavailable
            | sql_errors.OperationalError
            | sql_errors.InterfaceError
            | sql_errors.DisconnectionError
            | sql_errors.TimeoutError
            | KafkaConnectionError
            | KafkaError
            | ConnectionError
            | TimeoutError
            | socket.gaierror,
        ):
            return True
        if type(link).__module__.startswith("asyncpg") and "Connection" in type(link).__name__:
            return True
    return False


def redacted_reason(error: BaseException) -> str:
    """A reason for the dead-letter header that carries no SQL parameters or personal data."""
    name = type(error).__name__
    if isinstance(error, sql_errors.StatementError):
        code = sqlstate_of(error)
        cause = type(error.orig).__name__ if error.orig is not None else name
        return f"{name}: {cause}" + (f" (SQLSTATE {code})" if code else "")
    if isinstance(error, ValidationError):
        return f"{name}: {_fields_and_rules(error)}"[:1000]
    # Our own poison reasons and parse errors name fields and rules, not values.
    return f"{name}: {error}"[:1000]


def _fields_and_rules(error: ValidationError) -> str:
    # pydantic's own text quotes each input value, which may be personal data.
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or '(root)'}: {item['msg']}"
        for item in error.errors(include_url=False, include_input=False)
    )


def backoff_seconds(attempt: int, *, base: float = 0.1, cap: float = 30.0) -> float:
    """Capped exponential backoff with full jitter, so retrying replicas do not move in step."""
    ceiling = min(cap, base * 2 ** min(attempt, 30))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security
