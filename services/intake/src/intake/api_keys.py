"""The API keys intake issues: their format, and how they are stored and checked.

A key reads `ik_<key id>_<secret>`: the key id (12 hex digits) names the key in listings and
finds its row; the secret is 256 random bits. Only the SHA-256 digest of the whole key is
stored. A plain hash, not a slow password hash, is enough here: with 256 random bits there is
nothing to guess, and a fast check keeps authentication off the request's critical path.
Digests are compared in constant time.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass

KEY_PATTERN = re.compile(r"ik_(?P<key_id>[0-9a-f]{12})_[A-Za-z0-9_-]{43}")


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    key: str  # shown once, to whoever created it; never stored

    @property
    def digest(self) -> str:
        return key_digest(self.key)


def issue_key() -> IssuedKey:
    key_id = secrets.token_hex(6)
    return IssuedKey(key_id, f"ik_{key_id}_{secrets.token_urlsafe(32)}")


def key_digest(key: str) -> str:
    # surrogatepass: a header decoded by the server never holds surrogates, but no input may
    # make this raise.
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def key_id_of(key: str) -> str | None:
    """The key id of a key in intake's format; None for anything else (an API_KEYS key, or
    garbage: any text at all is answered, never raised on)."""
    match = KEY_PATTERN.fullmatch(key)
    return match["key_id"] if match else None


def same_digest(digest: str, other: str) -> bool:
    """Compared in constant time: how long it takes tells nothing about either."""
    return secrets.compare_digest(digest.encode(), other.encode())
