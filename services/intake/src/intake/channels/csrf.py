"""CSRF protection of the public web form by signed double submit (pure): the same token goes
in a cookie and in a hidden field; a post is taken only when both are present, equal, signed
with our secret and younger than `max_age`. Another site can make a browser send our cookie,
but can neither read it nor forge a signed token to put in the form it submits."""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta


def issue_token(secret: bytes, *, now: datetime) -> str:
    nonce = secrets.token_urlsafe(18)
    issued = str(int(now.timestamp()))
    return f"{nonce}.{issued}.{_signature(secret, nonce, issued)}"


def token_valid(secret: bytes, token: str, *, now: datetime, max_age: timedelta) -> bool:
    nonce, _, rest = token.partition(".")
    issued, _, signature = rest.partition(".")
    if not (nonce and issued.isdigit() and signature):
        return False
    if not hmac.compare_digest(signature, _signature(secret, nonce, issued)):
        return False
    age = now.timestamp() - int(issued)
    return -60 <= age <= max_age.total_seconds()  # a minute's clock skew between replicas


def submission_valid(
    secret: bytes, *, field: str, cookie: str, now: datetime, max_age: timedelta
) -> bool:
    """The double submit: the form's token is the cookie's, and genuinely ours."""
    same = hmac.compare_digest(field.encode(), cookie.encode())
    return bool(field) and same and token_valid(secret, field, now=now, max_age=max_age)


def _signature(secret: bytes, nonce: str, issued: str) -> str:
    return hmac.new(secret, f"{nonce}.{issued}".encode(), hashlib.sha256).hexdigest()
