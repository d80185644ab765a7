"""The command line of every service: `python -m <service> migrate|serve`."""

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import uvicorn
import uvloop
from fastapi import FastAPI

from incident_kit.clock import Clock, SystemClock
from incident_kit.migrations import upgrade
from incident_kit.settings import ServiceSettings, load_settings

S = TypeVar("S", bound=ServiceSettings)


def main(
    *,
    service: str,
    settings_class: type[S],
    create_app: Callable[[S, Clock], FastAPI],
    migrations_dir: Path,
    argv: list[str] | None = None,
) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {service}")
    parser.add_argument("command", choices=["migrate", "serve"])
    arguments = parser.parse_args(argv)
    settings = load_settings(settings_class)
    if arguments.command == "migrate":
        upgrade(settings.database_url, migrations_dir)
        return
    # uvloop: the faster event loop uvicorn would pick itself.
    uvloop.run(_serve(settings, create_app))


async def _serve(settings: S, create_app: Callable[[S, Clock], FastAPI]) -> None:
    # The app is built inside the event loop: the Kafka clients need a running loop.
    app = create_app(settings, SystemClock())
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        timeout_graceful_shutdown=20,
        access_log=False,
    )
    await uvicorn.Server(config).serve()
