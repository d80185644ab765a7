"""When a fault scenario counts as passed: nothing lost or doubled is not enough, the load must
have been taken (a run whose reports intake refused proves nothing about durability)."""

from faults.checks import Verdict
from faults.runner import ScenarioResult


def settled(**fields: object) -> ScenarioResult:
    result = ScenarioResult("kill-intake", "kill -9", settled=True, **fields)  # type: ignore[arg-type]
    return result


def test_a_scenario_with_acknowledged_reports_and_nothing_lost_passes() -> None:
    assert settled(sent=10, acknowledged=10, verdict=Verdict(acknowledged=10)).ok


def test_a_scenario_that_acknowledged_nothing_fails() -> None:
    assert not settled(sent=10, verdict=Verdict(acknowledged=0)).ok


def test_a_scenario_whose_load_intake_refused_fails() -> None:
    refused = {"run-00001": "HTTP 422: body.kind"}
    result = settled(sent=10, acknowledged=9, verdict=Verdict(acknowledged=9), rejected=refused)
    assert not result.ok
