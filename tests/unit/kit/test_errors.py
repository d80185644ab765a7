"""Failure classification: outages and transient conflicts are waited out, everything else is
not; a dead letter's reason names the error, never the SQL parameters or personal data."""

import pytest
from aiokafka.errors import KafkaConnectionError
from asyncpg import exceptions as pg
from incident_kit.errors import (
    InfrastructureUnavailable,
    PoisonMessage,
    backoff_seconds,
    is_infrastructure_error,
    is_poison,
    redacted_reason,
)
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import exc as sql

INSERT = "INSERT INTO customers (email) VALUES ($1)"
EMAIL = "jane.doe@example.com"


def raised_by_sqlalchemy(error: sql.StatementError, orig: BaseException) -> BaseException:
    """`error` as SQLAlchemy raises it: `raise wrapper from driver_error`, so the driver's
    error (with its SQLSTATE) is the cause."""
    try:
        raise error from orig
    except sql.StatementError as raised:
        return raised


def caused_by(cause: BaseException) -> BaseException:
    """A handler's own error raised while handling `cause`."""
    try:
        raise RuntimeError("saving the assignment failed") from cause
    except RuntimeError as raised:
        return raised


def serialization_failure() -> BaseException:
    orig = pg.SerializationError("could not serialize access due to concurrent update")
    return raised_by_sqlalchemy(sql.DBAPIError(INSERT, (EMAIL,), orig), orig)


def unique_violation() -> BaseException:
    orig = pg.UniqueViolationError(f"duplicate key; DETAIL: Key (email)=({EMAIL}) already exists")
    return raised_by_sqlalchemy(sql.IntegrityError(INSERT, (EMAIL,), orig), orig)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(
            sql.OperationalError("SELECT 1", None, ConnectionResetError("reset")), id="operational"
        ),
        pytest.param(
            sql.DBAPIError("SELECT 1", None, Exception("closed"), connection_invalidated=True),
            id="connection-invalidated",
        ),
        pytest.param(caused_by(serialization_failure()), id="serialization-40001-in-chain"),
        pytest.param(
            caused_by(pg.DeadlockDetectedError("deadlock detected")), id="deadlock-40P01-in-chain"
        ),
        pytest.param(ConnectionRefusedError(111, "Connection refused"), id="connection-refused"),
        pytest.param(KafkaConnectionError("no broker"), id="kafka-connection"),
        pytest.param(InfrastructureUnavailable("mail server down"), id="declared-by-handler"),
    ],
)
def test_outages_and_transient_conflicts_are_infrastructure(error: BaseException) -> None:
    assert is_infrastructure_error(error)
    assert not is_poison(error)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(ValueError("bad severity"), id="value-error"),
        pytest.param(unique_violation(), id="unique-violation-23505"),
        pytest.param(caused_by(unique_violation()), id="unique-violation-in-chain"),
        pytest.param(PoisonMessage("unknown incident"), id="poison"),
    ],
)
def test_defects_and_rule_violations_are_not_infrastructure(error: BaseException) -> None:
    assert not is_infrastructure_error(error)


def test_the_reason_of_a_statement_error_carries_no_parameters_or_personal_data() -> None:
    statement_error = sql.StatementError(
        f"could not bind {EMAIL}", INSERT, {"email": EMAIL}, ValueError(f"bad value {EMAIL}")
    )
    reason = redacted_reason(statement_error)
    assert reason == "StatementError: ValueError"
    assert EMAIL in str(statement_error)  # what the redaction is for


def test_the_reason_of_a_database_error_names_its_class_and_sqlstate_only() -> None:
    error = unique_violation()
    reason = redacted_reason(error)
    assert reason == "IntegrityError: UniqueViolationError (SQLSTATE 23505)"
    assert EMAIL not in reason and "INSERT" not in reason


def test_the_reason_of_a_validation_error_names_fields_and_rules_not_values() -> None:
    class Contact(BaseModel):
        email: str = Field(max_length=8)

    with pytest.raises(ValidationError) as raised:
        Contact.model_validate({"email": EMAIL})
    reason = redacted_reason(raised.value)
    assert reason == "ValidationError: email: String should have at most 8 characters"
    assert EMAIL not in reason


def test_backoff_stays_between_half_the_cap_and_the_cap_at_high_attempts() -> None:
    cap = 2.0
    delays = [backoff_seconds(attempt, cap=cap) for attempt in range(10, 200) for _ in range(5)]
    assert all(cap / 2 <= delay <= cap for delay in delays)
    assert len(set(delays)) > 1  # jittered, so replicas do not retry in step


def test_backoff_grows_from_the_base_before_reaching_the_cap() -> None:
    assert all(0.05 <= backoff_seconds(1, base=0.05, cap=30.0) <= 0.1 for _ in range(50))
