"""The floor for intake's HTTP path: a bare FastAPI app whose POST /v1/incidents validates
intake's own request body and returns it, served the way incident_kit.cli serves the services.

`python -m bench.echo_app --port N` serves it until SIGTERM.
"""

import argparse

import uvicorn
import uvloop
from fastapi import FastAPI, status
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


async def _serve(port: int) -> None:
    # As incident_kit.cli: one process, uvloop, uvicorn's default HTTP parser (httptools when
    # installed, as it is for the services), no access log.
    config = uvicorn.Config(
        create_echo_app(), host="127.0.0.1", port=port, log_config=None, access_log=False
    )
    await uvicorn.Server(config).serve()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.echo_app")
    parser.add_argument("--port", type=int, required=True)
    uvloop.run(_serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
