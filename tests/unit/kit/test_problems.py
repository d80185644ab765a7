"""HTTP errors at the edge: problem+json naming the field, 401, 413 for huge bodies, 503 with
Retry-After when the database connection was lost or none was free in time."""

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
from fastapi import Depends, FastAPI
from incident_kit.http import api_key_guard
from incident_kit.problems import BodySizeLimit, Problem, install_problem_handlers
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout


class Order(BaseModel):
    quantity: int = Field(ge=1)
    colour: str


def make_client() -> httpx.AsyncClient:
    app = FastAPI()
    install_problem_handlers(app)
    guard = api_key_guard(frozenset({"secret"}))

    @app.post("/orders")
    async def create(order: Order, _: Annotated[str, Depends(guard)]) -> dict[str, int]:
        if order.colour == "void":
            raise Problem(409, "Colour unavailable", "void is sold out")
        if order.colour == "refused":
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
        if order.colour == "shutting-down":
            raise OperationalError(
                "SELECT ...", None, Exception("the database system is shutting down")
            )
        if order.colour == "crowded":
            raise PoolTimeout("QueuePool limit of size 10 overflow 20 reached, timed out")
        if order.colour in {"dropped", "broken"}:
            raise DBAPIError(
                "INSERT ...",
                None,
                ConnectionResetError("server closed the connection"),
                connection_invalidated=order.colour == "dropped",
            )
        return {"quantity": order.quantity}

    @app.get("/orders")
    async def orders() -> list[int]:
        return []

    app.add_middleware(BodySizeLimit, max_bytes=2048)
    # Unexpected errors answer 500 like under a server, instead of being raised into the test.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


AUTH = {"Authorization": "Bearer secret"}


async def test_validation_errors_are_problem_json_naming_each_field() -> None:
    response = await make_client().post("/orders", json={"quantity": "lots"}, headers=AUTH)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert {e["field"] for e in problem["errors"]} == {"body.quantity", "body.colour"}
    assert "body.quantity" in problem["detail"]


async def test_missing_and_wrong_api_keys_are_refused() -> None:
    client = make_client()
    missing = await client.post("/orders", json={"quantity": 1, "colour": "red"})
    wrong = await client.post(
        "/orders", json={"quantity": 1, "colour": "red"}, headers={"Authorization": "Bearer guess"}
    )
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.json()["title"] == "Missing API key"
    assert wrong.headers["www-authenticate"] == "Bearer"


async def test_domain_problems_keep_their_status_and_detail() -> None:
    response = await make_client().post(
        "/orders", json={"quantity": 1, "colour": "void"}, headers=AUTH
    )
    assert response.status_code == 409
    assert response.json()["detail"] == "void is sold out"


async def test_huge_bodies_are_refused_before_parsing() -> None:
    response = await make_client().post("/orders", content=b"x" * 10_000, headers=AUTH)
    assert response.status_code == 413
    assert response.json()["title"] == "Request body too large"


async def test_accepted_request_passes_through() -> None:
    response = await make_client().post(
        "/orders", json={"quantity": 2, "colour": "red"}, headers=AUTH
    )
    assert response.json() == {"quantity": 2}


async def test_a_lost_database_connection_asks_the_caller_to_retry() -> None:
    client = make_client()
    dropped = await client.post("/orders", json={"quantity": 1, "colour": "dropped"}, headers=AUTH)
    assert dropped.status_code == 503
    assert dropped.headers["content-type"] == "application/problem+json"
    assert dropped.headers["retry-after"] == "1"
    assert dropped.json()["title"] == "Database connection lost"

    broken = await client.post("/orders", json={"quantity": 1, "colour": "broken"}, headers=AUTH)
    assert broken.status_code == 500  # any other database error is ours, not the caller's
    assert broken.json()["title"] == "Internal error"


async def test_no_pooled_connection_in_time_asks_the_caller_to_retry() -> None:
    crowded = await make_client().post(
        "/orders", json={"quantity": 1, "colour": "crowded"}, headers=AUTH
    )
    assert crowded.status_code == 503
    assert crowded.headers["content-type"] == "application/problem+json"
    assert crowded.headers["retry-after"] == "1"
    assert crowded.json()["title"] == "Database busy"


async def test_a_database_that_is_down_asks_the_caller_to_retry() -> None:
    client = make_client()
    for colour in ("refused", "shutting-down"):
        answer = await client.post("/orders", json={"quantity": 1, "colour": colour}, headers=AUTH)
        assert answer.status_code == 503, colour
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["retry-after"] == "2"
        assert answer.json()["title"] == "Service temporarily unavailable"


async def test_a_key_with_non_ascii_bytes_is_refused_not_a_defect() -> None:
    # compare_digest refuses str with non-ASCII characters: this was a 500.
    response = await make_client().post(
        "/orders", json={"quantity": 1, "colour": "red"}, headers={b"Authorization": b"Bearer \xe9"}
    )
    assert response.status_code == 401
    assert response.json()["title"] == "Invalid API key"


async def test_a_streamed_body_past_the_limit_is_413_too() -> None:
    # Without Content-Length the limit trips while FastAPI reads the body: this was a 400.
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 500

    response = await make_client().post(
        "/orders", content=chunks(), headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["detail"] == "limit is 2048 bytes"


async def test_a_body_that_is_not_utf8_is_a_400_problem() -> None:
    response = await make_client().post(
        "/orders",
        content=b'{"colour": "\xff"}',
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_wrong_method_lists_every_method_of_the_path() -> None:
    # Starlette named only the first route's methods: "Allow: POST".
    response = await make_client().request("OPTIONS", "/orders")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.headers["content-type"] == "application/problem+json"
