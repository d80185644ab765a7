"""The opaque cursor of incident listings: the position (created_at, incident_id) of the last
incident of a page, base64url-encoded JSON, so clients cannot come to depend on its shape."""

import base64
import binascii
import json
from datetime import datetime


class InvalidCursor(ValueError):
    pass


def encode_cursor(created_at: datetime, incident_id: str) -> str:
    position = json.dumps([created_at.isoformat(), incident_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, incident_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        moment = datetime.fromisoformat(created_at)
    except (ValueError, TypeError, binascii.Error) as error:
        raise InvalidCursor("not a cursor this API gave out") from error
    if moment.tzinfo is None or not isinstance(incident_id, str) or "\x00" in incident_id:
        raise InvalidCursor("not a cursor this API gave out")
    return moment, incident_id
