"""Policy bodies of the HTTP API: ISO 8601 or second targets, and what is refused: exactly
what the schema says (its pattern and bounds), no more and no less."""

import re
from typing import Any

import pytest
from pydantic import ValidationError
from sla.resources import MAX_TARGET_SECONDS, PolicyBody

BASE: dict[str, Any] = {"name": "Gold", "priority": 1}


@pytest.mark.parametrize(
    ("given", "seconds"),
    [
        ("PT1H", 3600),
        ("PT30M", 1800),
        ("P1DT2H", 93600),
        (90, 90),
        ("PT45S", 45),
        ("PT90M", 5400),
        ("PT1H30S", 3630),
        ("P999DT999H999M999S", 89_970_939),  # the longest the schema's pattern admits
    ],
)
def test_targets_accept_iso_durations_and_seconds(given: object, seconds: int) -> None:
    body = PolicyBody.model_validate(
        BASE | {"targets": {"first_response": given, "resolution": "PT8H"}}
    )
    policy = body.to_policy("gold")
    assert (policy.first_response_seconds, policy.resolution_seconds) == (seconds, 8 * 3600)
    assert policy.warn_at_percent == (75,)  # the default warning


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"targets": {"first_response": "soon", "resolution": 60}}, "first_response"),
        ({"targets": {"first_response": "-PT1H", "resolution": 60}}, "first_response"),
        ({"targets": {"first_response": "PT0.5S", "resolution": 60}}, "first_response"),
        ({"targets": {"first_response": 0, "resolution": 60}}, "first_response"),
        ({"targets": {"first_response": "P0D", "resolution": 60}}, "first_response"),
        ({"targets": {"first_response": "P1W", "resolution": 60}}, "first_response"),
        ({"targets": {"first_response": "P1000D", "resolution": 60}}, "first_response"),
        ({"targets": {"first_response": True, "resolution": 60}}, "first_response"),
        ({"targets": {"first_response": "60", "resolution": 60}}, "first_response"),
        ({"targets": {"first_response": 60, "resolution": 60}, "priority": "1"}, "priority"),
        ({"targets": {"first_response": 60}}, "resolution"),
        (
            {"targets": {"first_response": 60, "resolution": 60}, "warn_at_percent": [100]},
            "warn_at_percent",
        ),
        ({"targets": {"first_response": 60, "resolution": 60}, "calendar": "9to5"}, "calendar"),
        (
            {"targets": {"first_response": 60, "resolution": 60}, "match": {"tiers": ["gold"]}},
            "tiers",
        ),
    ],
)
def test_invalid_policies_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        PolicyBody.model_validate(BASE | change)
    assert field in {str(part) for error in raised.value.errors() for part in error["loc"]}


def test_the_schema_of_a_target_matches_what_is_accepted() -> None:
    target = PolicyBody.model_json_schema()["$defs"]["PolicyTargets"]["properties"]
    text, seconds = target["first_response"]["anyOf"]
    assert seconds == {"type": "integer", "minimum": 1, "maximum": MAX_TARGET_SECONDS}
    assert re.search(text["pattern"], "P999DT999H999M999S")
    assert not re.search(text["pattern"], "P1000D") and not re.search(text["pattern"], "PT")
    assert re.search(text["not"]["pattern"], "PT0H0M")  # no length of time: refused
