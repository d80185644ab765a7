"""The verdict on a scenario, from what was observed: for every incident the client got a 201/200
for, each effect exactly once, and no dead letter but the poison injected. Pure: no I/O.

Kafka is at least once: an event published twice keeps its id, so effects on topics count
distinct event ids. E-mail is at least once on the wire with a stable Message-ID, so mails
count distinct Message-IDs; copies beyond the first are reported as resends, not duplicates.
"""

from collections import Counter
from dataclasses import dataclass, field

EFFECTS = ("incident", "assignment", "clocks", "breaches", "email")
CLOCK_METRICS = ("first_response", "resolution")


@dataclass(frozen=True)
class DeadLetterSeen:
    topic: str
    group: str
    poison_marker: str | None  # the `faults-poison` header, None for a dead letter of the load
    error_class: str


@dataclass(frozen=True)
class Observed:
    acknowledged: dict[str, str]  # Idempotency-Key -> incident id the client was given
    intake_rows: dict[str, list[str]]  # key -> incident ids intake holds under its title
    assigned_rows: set[str]  # incidents router holds as assigned
    assigned_events: dict[str, set[str]]  # incident -> distinct incident.assigned.v1 ids
    clock_rows: dict[str, set[str]]  # incident -> metrics sla has a clock for
    clock_events: dict[tuple[str, str], set[str]]  # (incident, metric) -> clock_started ids
    breach_due: set[tuple[str, str]]  # clocks whose window has passed
    breach_events: dict[tuple[str, str], set[str]]  # (incident, metric) -> breached ids
    mails: dict[str, Counter[str]]  # incident -> Message-ID -> copies received
    dead_letters: list[DeadLetterSeen]
    poison_must_park: dict[str, tuple[str, ...]]  # marker -> groups that must park it


@dataclass
class Verdict:
    acknowledged: int
    lost: dict[str, list[str]] = field(default_factory=lambda: {e: [] for e in EFFECTS})
    duplicated: dict[str, list[str]] = field(default_factory=lambda: {e: [] for e in EFFECTS})
    mail_resends: int = 0
    extra_dead_letters: list[DeadLetterSeen] = field(default_factory=list)
    poison_parked: int = 0
    poison_not_parked: list[str] = field(default_factory=list)  # "<marker> by <group>"

    @property
    def ok(self) -> bool:
        bad = [*self.lost.values(), *self.duplicated.values()]
        return not any(bad) and not self.extra_dead_letters and not self.poison_not_parked


def judge(seen: Observed) -> Verdict:
    verdict = Verdict(acknowledged=len(seen.acknowledged))
    for key, incident in sorted(seen.acknowledged.items()):
        rows = seen.intake_rows.get(key, [])
        _count(verdict, "incident", incident, 1 if incident in rows else 0, len(rows))
        events = len(seen.assigned_events.get(incident, ()))
        present = events if incident in seen.assigned_rows else 0
        _count(verdict, "assignment", incident, present, events)
        _judge_clocks(verdict, seen, incident)
        copies = seen.mails.get(incident, Counter())
        _count(verdict, "email", incident, len(copies), len(copies))
        verdict.mail_resends += sum(copies.values()) - len(copies)
    _judge_dead_letters(verdict, seen)
    return verdict


def _count(verdict: Verdict, effect: str, incident: str, present: int, total: int) -> None:
    """`present`: copies the effect needs to count as done; `total`: all copies seen."""
    if present == 0:
        verdict.lost[effect].append(incident)
    elif total > 1:
        verdict.duplicated[effect].append(incident)


def _judge_clocks(verdict: Verdict, seen: Observed, incident: str) -> None:
    rows = seen.clock_rows.get(incident, set())
    started = {m: len(seen.clock_events.get((incident, m), ())) for m in CLOCK_METRICS}
    present = min(count if metric in rows else 0 for metric, count in started.items())
    _count(verdict, "clocks", incident, present, max(started.values()))
    breach_lost = breach_extra = False
    for metric in CLOCK_METRICS:
        fired = len(seen.breach_events.get((incident, metric), ()))
        due = (incident, metric) in seen.breach_due
        breach_lost |= due and fired == 0
        # A second breach of one clock, or a breach of a clock not yet due, is one too many.
        breach_extra |= fired > (1 if due else 0)
    if breach_lost:
        verdict.lost["breaches"].append(incident)
    if breach_extra:
        verdict.duplicated["breaches"].append(incident)


def _judge_dead_letters(verdict: Verdict, seen: Observed) -> None:
    parked: set[tuple[str, str]] = set()
    for letter in seen.dead_letters:
        if letter.poison_marker is None:
            verdict.extra_dead_letters.append(letter)
        else:
            verdict.poison_parked += 1
            parked.add((letter.poison_marker, letter.group))
    for marker, groups in sorted(seen.poison_must_park.items()):
        verdict.poison_not_parked += [
            f"{marker} by {group}" for group in groups if (marker, group) not in parked
        ]
