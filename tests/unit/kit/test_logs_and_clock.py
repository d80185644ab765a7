"""Log lines carry the incident and trace of the work in hand; the frozen clock moves on demand."""

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from incident_kit.clock import FrozenClock
from incident_kit.logs import JsonFormatter, bind_context, clear_context, trace_id_of


def test_json_log_lines_carry_the_bound_incident_and_trace() -> None:
    clear_context()
    bind_context(
        incident_id="inc-7",
        trace_id=trace_id_of("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
    )
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "assigned %s", ("a1",), None)
    line = json.loads(JsonFormatter("router").format(record))
    assert line["message"] == "assigned a1"
    assert line["incident_id"] == "inc-7"
    assert line["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert line["service"] == "router"
    clear_context()


def test_frozen_clock_moves_only_when_told() -> None:
    t0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    clock = FrozenClock(t0)
    assert clock.now() == t0
    assert clock.advance(timedelta(minutes=31)) == t0 + timedelta(minutes=31)
    with pytest.raises(ValueError, match="timezone-aware"):
        FrozenClock(datetime(2026, 11, 23))  # noqa: DTZ001
