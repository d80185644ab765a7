"""JSON logs that carry the incident id, correlation id and trace id of the work in hand."""

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

_context: ContextVar[dict[str, str]] = ContextVar("log_context", default={})  # noqa: B039


def bind_context(**fields: str | None) -> None:
    """Attach fields (incident_id, trace_id, ...) to every log line of the current task."""
    _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})


def clear_context() -> None:
    _context.set({})


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id inside a W3C traceparent header (version-traceid-parentid-flags)."""
    parts = (traceparent or "").split("-")
    return parts[1] if len(parts) == 4 else None


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
            **_context.get(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(service: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "uvicorn.access"):
        logging.getLogger(noisy).setLevel("WARNING")
