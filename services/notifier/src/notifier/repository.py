"""All SQL of the notifier: the incident projection, deliveries and preferences. Never commits."""

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from functools import cache
from typing import Any, cast

from incident_events import Event
from incident_events.types import DeliveryChannel
from incident_kit import driver
from incident_kit.outbox import EVENT_COLUMNS, event_columns, insert_events_sql
from incident_kit.sql_constant import constant
from sqlalchemy import Row, Select, Table, bindparam, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.domain import Delivery, IncidentView, PlannedMessage, Preferences
from notifier.tables import DeliveryRow, IncidentRow, PreferenceRow, outbox

_VIEW_FIELDS = tuple(IncidentView.__dataclass_fields__)


def _view(row: IncidentRow | Row[Any] | driver.Row) -> IncidentView:
    return IncidentView(**{name: getattr(row, name) for name in _VIEW_FIELDS})


def _delivery(row: DeliveryRow | Row[Any] | driver.Row) -> Delivery:
    return Delivery(
        notification_id=row.notification_id,
        incident_id=row.incident_id,
        cause_event_id=row.cause_event_id,
        channel=DeliveryChannel(row.channel),
        template=row.template,
        language=row.language,
        recipient=row.recipient,
        subject=row.subject,
        body=row.body,
        status=row.status,
        attempts=row.attempts,
        created_at=row.created_at,
        correlation_id=row.correlation_id,
        traceparent=row.traceparent,
    )


async def lock_incident(
    session: AsyncSession, *, incident_id: str, new_token: str, setting: Mapping[str, Any]
) -> tuple[IncidentView, Preferences | None]:
    """The incident's projection with the fields `setting` gives, created if new, locked until
    commit; and, read by the same statement, the stored preferences of its customer (None: none
    stored, or no customer known yet).

    The lock serialises the report and the SLA clock of one incident, which arrive on two
    topics at once: whichever commits second sees the other's data.
    """
    parameters = {"incident_id": incident_id, "status_token": new_token, **setting}
    (row,) = await driver.fetch(session, _lock_incident(tuple(setting)), parameters)
    preferences = (
        None
        if row.preferences_of is None
        else Preferences(
            language=row.preferred_language,
            email=row.preferred_email,
            channels=frozenset(row.preferred_channels),
        )
    )
    return _view(row), preferences


async def save_incident(session: AsyncSession, *, view: IncidentView) -> None:
    """Held in a batch of the consumer and run with the batch's others (`driver.write`)."""
    values = {k: v for k, v in asdict(view).items() if k not in _KEPT}
    await driver.write(session, _SAVE_INCIDENT, {**values, "the_incident_id": view.incident_id})


# The two statements every incident passes through, built once as Core statements with bound
# parameters. Those of the handlers run on the driver (`incident_kit.driver`), in the batch's
# transaction after its inbox claim: a fifth of the client CPU of a statement through the session.
_INCIDENTS = cast(Table, IncidentRow.__table__)
_KEPT = frozenset({"incident_id", "status_token"})  # never changed by saving the view


@cache  # one statement per set of fields a fact sets, built once
def _lock_incident(setting: tuple[str, ...]) -> Select[Any]:
    """One round trip: the upsert sets the fields (a fact that sets none updates the row to
    itself, which takes its lock) and returns the row, joined to its customer's preferences."""
    columns = ("incident_id", "status_token", *setting)
    upsert = insert(_INCIDENTS).values(
        {name: bindparam(name, type_=_INCIDENTS.c[name].type) for name in columns}
    )
    locked = (
        upsert.on_conflict_do_update(
            index_elements=[_INCIDENTS.c.incident_id],
            set_={name: upsert.excluded[name] for name in setting}
            or {"incident_id": _INCIDENTS.c.incident_id},
        )
        .returning(*(_INCIDENTS.c[name] for name in _VIEW_FIELDS))
        .cte("locked")
    )
    return select(
        locked,
        _PREFERENCES.c.customer_id.label("preferences_of"),
        _PREFERENCES.c.language.label("preferred_language"),
        _PREFERENCES.c.email.label("preferred_email"),
        _PREFERENCES.c.channels.label("preferred_channels"),
    ).outerjoin(_PREFERENCES, _PREFERENCES.c.customer_id == locked.c.customer_id)


_SAVE_INCIDENT = (
    update(_INCIDENTS)
    # Not named after a column: such names are SQLAlchemy's own in an UPDATE's SET clause.
    .where(_INCIDENTS.c.incident_id == bindparam("the_incident_id"))
    .values(
        {
            name: bindparam(name, type_=_INCIDENTS.c[name].type)
            for name in _VIEW_FIELDS
            if name not in _KEPT
        }
    )
)


# Statements of every incident and every message, built once (see _lock_incident above).
# Parameters are not named after columns: such names are SQLAlchemy's own in SET and VALUES.
_DELIVERIES = cast(Table, DeliveryRow.__table__)
_FIND_INCIDENT = select(*(_INCIDENTS.c[name] for name in _VIEW_FIELDS)).where(
    _INCIDENTS.c.incident_id == bindparam("the_incident_id")
)
_SET_STATUS = (
    update(_INCIDENTS)
    .where(
        _INCIDENTS.c.incident_id == bindparam("the_incident_id"),
        or_(
            _INCIDENTS.c.status_changed_at.is_(None),
            _INCIDENTS.c.status_changed_at <= bindparam("new_at"),
        ),
    )
    .values(status=bindparam("new_status"), status_changed_at=bindparam("new_at"))
)
# Its values come with each execution, one row: the columns are the parameters.
_ADD_DELIVERY = (
    insert(_DELIVERIES)
    .on_conflict_do_nothing(constraint="uq_deliveries_cause")
    .returning(*_DELIVERIES.c)
)
# The events given, each with its delivery's id, of the deliveries marked.
_DELIVERED_EVENTS = (
    "unnest("
    + ", ".join(f"CAST(:{n} AS {t}[])" for n, t in (*EVENT_COLUMNS, ("notification_id", "text")))
    + f") WITH ORDINALITY AS e({', '.join(n for n, _ in EVENT_COLUMNS)}, notification_id,"
    " position) JOIN marked USING (notification_id)"
)
# Marking delivered and recording the events of those marked: one statement (record_delivered).
_RECORD_DELIVERED = text(
    f"WITH marked AS (UPDATE {_DELIVERIES.fullname} SET status = 'delivered',"
    " attempts = attempts + 1, delivered_at = CAST(:delivered_now AS timestamptz),"
    " error = NULL, lease_until = NULL"
    " WHERE notification_id = ANY(CAST(:notification_id AS text[])) AND status = 'pending'"
    " RETURNING notification_id),"
    " recorded AS ("
    + insert_events_sql(outbox, rows=_DELIVERED_EVENTS, alias="e")
    + ") SELECT notification_id FROM marked"
)


async def find_incident(session: AsyncSession, *, incident_id: str) -> IncidentView | None:
    rows = await driver.fetch(session, _FIND_INCIDENT, {"the_incident_id": incident_id})
    return _view(rows[0]) if rows else None


async def incident_by_token(session: AsyncSession, *, token: str) -> IncidentView | None:
    query = select(IncidentRow).where(IncidentRow.status_token == token)
    row = (await session.execute(query)).scalar_one_or_none()
    return _view(row) if row else None


async def set_status(
    session: AsyncSession, *, incident_id: str, status: str, changed_at: datetime
) -> None:
    """Apply a status change unless a later one was applied (an old fact replayed late). Held
    in a batch of the consumer and run with the batch's others (`driver.write`)."""
    parameters = {"the_incident_id": incident_id, "new_status": status, "new_at": changed_at}
    await driver.write(session, _SET_STATUS, parameters)


_PREFERENCES = cast(Table, PreferenceRow.__table__)
_PREFERENCES_OF = select(
    _PREFERENCES.c.language, _PREFERENCES.c.email, _PREFERENCES.c.channels
).where(_PREFERENCES.c.customer_id == bindparam("the_customer_id"))


async def preferences_of(session: AsyncSession, *, customer_id: str | None) -> Preferences | None:
    """Read for every message whose customer is not cached: on the driver, like the statements
    above (the session's `get` costs several times the client CPU)."""
    if not customer_id:
        return None
    rows = await driver.fetch(session, _PREFERENCES_OF, {"the_customer_id": customer_id})
    if not rows:
        return None
    row = rows[0]
    return Preferences(language=row.language, email=row.email, channels=frozenset(row.channels))


async def stored_preferences(
    session: AsyncSession, *, customer_id: str
) -> tuple[Preferences, datetime] | None:
    """A customer's preferences and when they last changed them."""
    row = await session.get(PreferenceRow, customer_id)
    if row is None:
        return None
    preferences = Preferences(
        language=row.language, email=row.email, channels=frozenset(row.channels)
    )
    return preferences, row.updated_at


async def save_preferences(
    session: AsyncSession, *, customer_id: str, preferences: Preferences, now: datetime
) -> None:
    values = {
        "language": preferences.language,
        "email": preferences.email,
        "channels": sorted(preferences.channels),
        "updated_at": now,
    }
    statement = insert(PreferenceRow).values(customer_id=customer_id, **values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=[PreferenceRow.customer_id], set_=values)
    )


async def add_delivery(
    session: AsyncSession,
    *,
    message: PlannedMessage,
    subject: str,
    body: str,
    now: datetime,
    lease_until: datetime,
    correlation_id: str | None = None,
    traceparent: str | None = None,
) -> Delivery | None:
    """Record a message, due now and leased to this process's delivery worker until
    `lease_until` (a claim by others skips it meanwhile); None if it was recorded before."""
    values = {
        "notification_id": message.notification_id,
        "incident_id": message.incident_id,
        "cause_event_id": message.cause_event_id,
        "channel": message.channel.value,
        "template": message.template,
        "language": message.language,
        "recipient": message.recipient,
        "subject": subject,
        "body": body,
        "created_at": now,
        "next_attempt_at": now,
        "lease_until": lease_until,
        "correlation_id": correlation_id,
        "traceparent": traceparent,
    }
    rows = await driver.fetch(session, _ADD_DELIVERY, values, values_of=list(values))
    return _delivery(rows[0]) if rows else None


async def claim_due_deliveries(
    session: AsyncSession, *, now: datetime, lease_until: datetime, limit: int
) -> list[Delivery]:
    """Lease the pending deliveries that are due; another replica skips them until it ends."""
    due = (
        select(DeliveryRow.notification_id)
        .where(
            DeliveryRow.status == constant("pending"),
            DeliveryRow.next_attempt_at <= now,
            or_(DeliveryRow.lease_until.is_(None), DeliveryRow.lease_until <= now),
        )
        .order_by(DeliveryRow.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(DeliveryRow)
        .where(DeliveryRow.notification_id.in_(due.scalar_subquery()))
        .values(lease_until=lease_until)
        .returning(DeliveryRow)
    )
    rows = (await session.execute(statement)).scalars().all()
    return sorted((_delivery(row) for row in rows), key=lambda d: d.created_at)


async def record_delivered(
    session: AsyncSession, *, deliveries: Sequence[tuple[Delivery, Event[Any]]], now: datetime
) -> set[str]:
    """Mark the deliveries delivered and put each one's event in the outbox, in one statement
    run as its own transaction (`driver.fetch_alone`: three round trips fewer than a
    transaction around two); those another attempt already settled are left out, with their
    events. Returns the notification ids marked."""
    columns = event_columns(event for _, event in deliveries)
    columns["notification_id"] = [delivery.notification_id for delivery, _ in deliveries]
    rows = await driver.fetch_alone(session, _RECORD_DELIVERED, columns | {"delivered_now": now})
    return {row.notification_id for row in rows}


async def record_failed_attempt(
    session: AsyncSession,
    *,
    notification_id: str,
    error: str,
    next_attempt_at: datetime,
    give_up: bool,
) -> Delivery | None:
    """Count a failed attempt and schedule the next; the delivery, now failed, if `give_up`."""
    statement = (
        update(DeliveryRow)
        .where(DeliveryRow.notification_id == notification_id, DeliveryRow.status == "pending")
        .values(
            attempts=DeliveryRow.attempts + 1,
            error=error[:2000],
            status="failed" if give_up else "pending",
            next_attempt_at=next_attempt_at,
            lease_until=None,
        )
        .returning(DeliveryRow)
    )
    row = (await session.execute(statement)).scalar_one_or_none()
    return _delivery(row) if row is not None and row.status == "failed" else None
