"""One scenario from start to verdict: agents and watch ready, load started, the fault injected
(and lifted), load held a few seconds, stopped, the stack left to settle, everything checked."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.http_pool import HttpPool
from faults.checks import Verdict, judge
from faults.load import SteadyLoad
from faults.mailbox import Mailbox
from faults.observe import open_watch
from faults.poison import Poison
from faults.preparation import agents_for
from faults.stack import LocalStack

SETTLE_POLL_S = 1.0
# After settling, a little longer for a late duplicate to show.
GRACE_S = 2.0
POOL_CONNECTIONS = 32


@dataclass(frozen=True)
class Timing:
    rate: float  # incidents per second
    warmup_s: float  # load before the fault
    hold_s: float  # load after the fault is lifted


@dataclass
class Scene:
    """What an injection works with, and where it marks its moments."""

    stack: LocalStack
    load: SteadyLoad
    env: dict[str, str]
    run: str
    began: float = field(default_factory=time.monotonic)
    marks: dict[str, float] = field(default_factory=dict)
    poison: list[Poison] = field(default_factory=list)
    # What settling waited for, each time that changed: (seconds, condition).
    settling: list[tuple[float, str]] = field(default_factory=list)

    def mark(self, moment: str) -> None:
        self.marks[moment] = round(time.monotonic() - self.began, 2)


Inject = Callable[[Scene], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    name: str
    fault: str  # what is done, in words
    inject: Inject
    fault_s: float = 0.0  # how long the fault lasts, to size the agents' capacity
    settle_timeout_s: float = 120.0


@dataclass
class ScenarioResult:
    scenario: str
    fault: str
    sent: int = 0
    acknowledged: int = 0
    retried: int = 0
    acknowledged_with_200: int = 0
    attempts: dict[str, int] = field(default_factory=dict)  # outcome of every POST attempt
    rejected: dict[str, str] = field(default_factory=dict)
    abandoned: list[str] = field(default_factory=list)
    verdict: Verdict = field(default_factory=lambda: Verdict(acknowledged=0))
    marks: dict[str, float] = field(default_factory=dict)
    settled: bool = False
    waiting_for: str | None = None
    recovery_s: float | None = None  # from the fault lifted until the stack settled
    settling: list[tuple[float, str]] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        # A run in which intake refused the load (a 4xx) or acknowledged nothing proves nothing.
        proved = self.verdict.acknowledged > 0 and not self.rejected
        return proved and self.verdict.ok and self.settled and not self.error and not self.abandoned

    @classmethod
    def broken(cls, scenario: Scenario, error: BaseException) -> "ScenarioResult":
        """The result of a scenario that could not be run at all (e.g. its agents refused)."""
        return cls(scenario.name, scenario.fault, error=f"{type(error).__name__}: {error}")

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


async def run_scenario(
    scenario: Scenario, stack: LocalStack, *, timing: Timing, run: str
) -> ScenarioResult:
    env = stack.env()
    auth = {"Authorization": f"Bearer {env['API_KEY']}"}
    skill = f"faults-{run}-{scenario.name}"
    planned = timing.rate * (timing.warmup_s + scenario.fault_s + timing.hold_s + 30)
    watch = await open_watch(
        env["DATABASE_URL"], env["KAFKA_BOOTSTRAP_SERVERS"], Mailbox(Path(env["MAIL_DIR"]))
    )
    pool = HttpPool(env["INTAKE_URL"], size=POOL_CONNECTIONS, headers=auth)
    load = SteadyLoad(pool, prefix=f"{run}-{scenario.name}", skill=skill, rate=timing.rate)
    scene = Scene(stack, load, env, run)
    error: str | None = None
    async with (
        httpx.AsyncClient(headers=auth, timeout=30) as api,
        agents_for(api, env["ROUTER_URL"], skill=skill, incidents=int(planned)),
    ):
        load.start()
        try:
            await asyncio.sleep(timing.warmup_s)
            await scenario.inject(scene)
            await asyncio.sleep(timing.hold_s)
        except Exception as failure:  # reported in the result; the load is still stopped
            error = f"{type(failure).__name__}: {failure}"
        finally:
            record = await load.stop()
            pool.close()
            scene.mark("load_stopped")
        ids = list(record.acknowledged.values())
        waiting_for = await _settle(watch.settled, ids, scenario.settle_timeout_s, scene)
        await asyncio.sleep(GRACE_S)
        verdict = judge(await watch.observe(record, scene.poison))
    settled_at, lifted_at = scene.marks.get("settled"), scene.marks.get("lifted")
    return ScenarioResult(
        scenario=scenario.name,
        fault=scenario.fault,
        sent=record.sent,
        acknowledged=len(record.acknowledged),
        retried=record.retried,
        acknowledged_with_200=record.acknowledged_with_200,
        attempts=dict(record.attempts),
        rejected=record.rejected,
        abandoned=record.abandoned,
        verdict=verdict,
        marks=scene.marks,
        settled=waiting_for is None,
        waiting_for=waiting_for,
        recovery_s=round(settled_at - lifted_at, 1) if settled_at and lifted_at else None,
        settling=scene.settling,
        error=error,
    )


async def _settle(
    settled: Callable[[list[str]], Awaitable[str | None]],
    ids: list[str],
    timeout: float,
    scene: Scene,
) -> str | None:
    """Poll until the stack has settled for `ids` (None) or `timeout` passes (what it awaits)."""
    deadline = time.monotonic() + timeout
    while (waiting_for := await settled(ids)) is not None:
        what = waiting_for.split(":")[0]
        if not scene.settling or scene.settling[-1][1].split(":")[0] != what:
            scene.settling.append((round(time.monotonic() - scene.began, 1), waiting_for))
        if time.monotonic() >= deadline:
            return waiting_for
        await asyncio.sleep(SETTLE_POLL_S)
    scene.mark("settled")
    return None
