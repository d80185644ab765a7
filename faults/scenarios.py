"""The faults, each a scenario: how it is injected and lifted, and how long the stack may take to
settle afterwards; then the full suite and the short one `make test` runs."""

import asyncio
import os
import signal
import time
from dataclasses import dataclass

from faults.poison import publish_poison
from faults.runner import Inject, Scenario, Scene
from faults.stack import SERVICES, StackFault

# Long enough for the client to meet the outage, short of any timeout in the stack.
DOWN_S = 3.0
# The notifier leases a message for 120 s (NOTIFIER_DELIVERY_LEASE_SECONDS): one that a killed
# notifier had leased is sent again only then.
NOTIFIER_LEASE_S = 120.0
# Intake runs this many worker processes in a suite that kills one of them (README: one per core).
INTAKE_WORKERS = 2
KILL_INTAKE_WORKER = "kill-intake-worker"


def killed(component: str, *, down_s: float = DOWN_S) -> Inject:
    """kill -9, a few seconds down under load, then `incident_devstack up` restarts it."""

    async def inject(scene: Scene) -> None:
        scene.mark("injected")
        if component == "postgres":
            scene.stack.kill_postgres()
        else:
            scene.stack.kill(component)
        await asyncio.sleep(down_s)
        scene.mark("lifted")
        await scene.stack.up()
        scene.mark("ready")

    return inject


def worker_killed(service: str, *, timeout_s: float = 60.0) -> Inject:
    """kill -9 of one of the service's worker processes; its parent must start another."""

    async def inject(scene: Scene) -> None:
        workers = scene.stack.workers(service)
        if len(workers) < 2:
            raise StackFault(f"{service} runs {len(workers) or 1} process: nothing to kill alone")
        victim = workers[0]
        scene.mark("injected")
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + timeout_s
        while not _replaced(scene.stack.workers(service), victim, len(workers)):
            if time.monotonic() > deadline:
                raise StackFault(f"{service} did not replace its killed worker {victim}")
            await asyncio.sleep(0.1)
        scene.mark("lifted")
        scene.mark("ready")

    return inject


def _replaced(workers: list[int], victim: int, count: int) -> bool:
    return len(workers) == count and victim not in workers


def postgres_frozen(seconds: float) -> Inject:
    """SIGSTOP of every process of the cluster: a hung server, connections open, no answers."""

    async def inject(scene: Scene) -> None:
        scene.mark("injected")
        with scene.stack.postgres_frozen():
            await asyncio.sleep(seconds)
        scene.mark("lifted")
        scene.mark("ready")

    return inject


async def poison(scene: Scene) -> None:
    """Garbage, an unknown type and events of unknown incidents, among the load's events."""
    scene.mark("injected")
    scene.poison = await publish_poison(scene.env["KAFKA_BOOTSTRAP_SERVERS"], run=scene.run)
    scene.mark("lifted")


def burst(rate: float, seconds: float) -> Inject:
    async def inject(scene: Scene) -> None:
        base, scene.load.rate = scene.load.rate, rate
        scene.mark("injected")
        await asyncio.sleep(seconds)
        scene.load.rate = base
        scene.mark("lifted")

    return inject


@dataclass(frozen=True)
class SuiteOptions:
    rate: float = 10.0
    burst_rate: float = 30.0  # twice the 15/s the README measures as comfortable
    burst_s: float = 5.0
    postgres_hang_s: float = 20.0
    smtp_outage_s: float = 60.0


def smtp_outage(seconds: float) -> Scenario:
    # Failed sends back off 5 s doubling: the last retry may come up to twice the outage later.
    return Scenario(
        "smtp-outage",
        f"SMTP sink killed, restarted {seconds:g} s later",
        killed("smtp", down_s=seconds),
        fault_s=seconds,
        settle_timeout_s=2 * seconds + 120,
    )


def kill_service(name: str) -> Scenario:
    return Scenario(
        f"kill-{name}",
        f"kill -9, restarted {DOWN_S:g} s later",
        killed(name),
        fault_s=30,
        settle_timeout_s=NOTIFIER_LEASE_S + 120 if name == "notifier" else 120,
    )


def full_suite(options: SuiteOptions) -> list[Scenario]:
    hang, burst_rate = options.postgres_hang_s, options.burst_rate
    every_process = f"kill -9 of every process, restarted {DOWN_S:g} s later"
    return [
        *(kill_service(name) for name in SERVICES),
        Scenario(
            KILL_INTAKE_WORKER,
            f"kill -9 of one of its {INTAKE_WORKERS} worker processes; its parent starts another",
            worker_killed("intake"),
            fault_s=30,
        ),
        Scenario("kill-kafka", f"kill -9, restarted {DOWN_S:g} s later", killed("kafka"), 40, 180),
        Scenario("kill-postgres", every_process, killed("postgres"), 40, 180),
        Scenario("postgres-hung", f"SIGSTOP for {hang:g} s", postgres_frozen(hang), hang, 180),
        smtp_outage(options.smtp_outage_s),
        Scenario("poison", "3 kinds on each of 3 topics", poison),
        Scenario(
            "burst",
            f"{burst_rate:g}/s for {options.burst_s:g} s",
            burst(burst_rate, options.burst_s),
            fault_s=options.burst_s * burst_rate / options.rate,
        ),
    ]


def short_suite(options: SuiteOptions) -> list[Scenario]:
    """About two minutes: the service a client meets first killed, poison, a short SMTP outage."""
    return [
        kill_service("intake"),
        Scenario("poison", "3 kinds on each of 3 topics", poison),
        smtp_outage(min(options.smtp_outage_s, 10.0)),
    ]


def scenario_names() -> list[str]:
    return [scenario.name for scenario in full_suite(SuiteOptions())]
