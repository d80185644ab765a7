"""The `python -m incident_devstack` command line: up, down, clean, status, logs, run."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable, Sequence
from types import FrameType

from incident_devstack import stack
from incident_devstack.logs import follow
from incident_devstack.paths import StackPaths
from incident_devstack.processes import StackError
from incident_devstack.services import SERVICE_NAMES, service_url
from incident_devstack.state import load_state

Command = Callable[[StackPaths, argparse.Namespace], int]


def print_report(paths: StackPaths, report: stack.UpReport, seconds: float) -> None:
    state = load_state(paths)
    print(f"Kafka        {report.infra.kafka_bootstrap_servers}")
    print(f"PostgreSQL   {report.infra.database_url}")
    print(f"SMTP sink    127.0.0.1:{report.smtp_port}  (mail in {paths.mail})")
    for name in report.services:
        url = service_url(state, name)
        print(f"{name:<12} {url}  docs {url}/docs  asyncapi {url}/asyncapi  metrics {url}/metrics")
    if "intake" in report.services:
        print(f"intake mail  127.0.0.1:{state.port('intake-smtp')}  (inbound SMTP)")
    if report.services:
        print(f"API key      {state.api_key}")
    if report.seeded:
        print(f"Demo seed    {report.seeded} requests sent")
    print(f"Environment  {paths.env_file}  (source it: set -a; . {paths.env_file}; set +a)")
    print(f"Logs         {paths.logs}")
    print(f"Started      {', '.join(report.started) or 'nothing (all reused)'}")
    print(f"Ready in     {seconds:.1f}s")


def cmd_up(paths: StackPaths, args: argparse.Namespace) -> int:
    began = time.monotonic()
    report = stack.up(paths, infra_only=args.infra_only)
    print_report(paths, report, time.monotonic() - began)
    return 0


def cmd_down(paths: StackPaths, args: argparse.Namespace) -> int:
    stack.down(paths)
    print("stack stopped")
    return 0


def cmd_clean(paths: StackPaths, args: argparse.Namespace) -> int:
    stack.clean(paths)
    print(f"stack stopped; {paths.root} and its PostgreSQL data deleted")
    return 0


def cmd_status(paths: StackPaths, args: argparse.Namespace) -> int:
    rows = stack.status(paths)
    for name, running, address in rows:
        print(f"{name:<10} {'running' if running else 'stopped':<8} {address}")
    return 0


def cmd_logs(paths: StackPaths, args: argparse.Namespace) -> int:
    names = [*SERVICE_NAMES, "smtp-sink"]
    if args.all:
        names += ["kafka", "postgres"]
    try:
        follow([paths.log(name) for name in names], sys.stdout)
    except KeyboardInterrupt:
        pass
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM ends `run` the way Ctrl-C does, so the stack still goes down.
    raise KeyboardInterrupt


def cmd_run(paths: StackPaths, args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        cmd_up(paths, args)
        print("following logs; Ctrl-C stops the stack", flush=True)
        cmd_logs(paths, args)
    except KeyboardInterrupt:
        pass
    finally:
        # Not interruptible itself: a second Ctrl-C would leave servers half-stopped.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.down(paths)
        print("stack stopped")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m incident_devstack",
        description="Local Kafka, PostgreSQL, SMTP sink and services in .stack/ (or $STACK_DIR).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start what is missing, in the background")
    up.add_argument("--infra-only", action="store_true", help="Kafka, PostgreSQL, SMTP sink only")
    up.set_defaults(handler=cmd_up)
    commands.add_parser("down", help="stop everything").set_defaults(handler=cmd_down)
    clean = commands.add_parser("clean", help="stop everything and delete its data")
    clean.set_defaults(handler=cmd_clean)
    commands.add_parser("status", help="what runs where").set_defaults(handler=cmd_status)
    logs = commands.add_parser("logs", help="follow the service logs until Ctrl-C")
    logs.set_defaults(handler=cmd_logs)
    run = commands.add_parser("run", help="up, follow logs until Ctrl-C or SIGTERM, then down")
    run.add_argument("--infra-only", action="store_true", help="Kafka, PostgreSQL, SMTP sink only")
    run.set_defaults(handler=cmd_run)
    for sub in (logs, run):
        sub.add_argument("--all", action="store_true", help="also Kafka and PostgreSQL logs")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Command = args.handler
    try:
        return handler(StackPaths.discover(), args)
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
