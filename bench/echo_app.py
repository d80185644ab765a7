"""The floor for intake's HTTP path: a bare FastAPI app whose POST /v1/incidents validates
intake's own request body and returns it, served the way incident_kit.cli serves the services.

`python -m bench.echo_app --port N [--processes P]` serves it until SIGTERM, in P worker
processes on one socket as `<SERVICE>_PROCESSES` runs a service.
"""

import argparse
import socket

import uvicorn
import uvloop
from fastapi import FastAPI, status
from incident_kit.cli import serve_in_processes
from intake.schemas import IncidentIn


def create_echo_app() -> FastAPI:
    app = FastAPI(title="bench echo")

    @app.post("/v1/incidents", status_code=status.HTTP_201_CREATED)
    async def echo(body: IncidentIn) -> IncidentIn:
        return body

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    return app


async def _serve(listener: socket.socket) -> None:
    # As incident_kit.cli: uvloop, uvicorn's default HTTP parser (httptools when installed, as
    # it is for the services), no access log.
    config = uvicorn.Config(create_echo_app(), log_config=None, access_log=False)
    await uvicorn.Server(config).serve(sockets=[listener])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.echo_app")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--processes", type=int, default=1)
    arguments = parser.parse_args()
    serve_in_processes(
        "127.0.0.1",
        arguments.port,
        arguments.processes,
        lambda listener: uvloop.run(_serve(listener)),
    )


if __name__ == "__main__":
    main()
