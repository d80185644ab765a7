"""The SMTP sink's mail directory (`.stack/mail`, one `.eml` file per message received), read
for the acknowledgements of a scenario's incidents: by `X-Incident-Id`, and `Message-ID` to tell
a resend of the same message (allowed: at-least-once on the wire) from a second message."""

from collections import Counter, defaultdict
from email import policy
from email.parser import BytesParser
from pathlib import Path


class Mailbox:
    """Messages that arrived after it was opened; each file is parsed once, headers only."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        # Names start with the arrival time in nanoseconds: later messages sort after.
        self._after = max((path.name for path in self._files()), default="")
        self._parsed: dict[str, tuple[str, str]] = {}  # file name -> (incident id, Message-ID)
        self._parser = BytesParser(policy=policy.default)

    def _files(self) -> list[Path]:
        return list(self._directory.glob("*.eml")) if self._directory.exists() else []

    def messages_by_incident(self) -> dict[str, Counter[str]]:
        """Incident id -> how many copies of each Message-ID arrived for it."""
        for path in self._files():
            if path.name > self._after and path.name not in self._parsed:
                headers = self._parser.parsebytes(path.read_bytes(), headersonly=True)
                incident, message_id = headers["X-Incident-Id"], headers["Message-ID"]
                self._parsed[path.name] = (str(incident or ""), str(message_id or path.name))
        found: dict[str, Counter[str]] = defaultdict(Counter)
        for incident, message_id in self._parsed.values():
            found[incident][message_id] += 1
        return dict(found)
