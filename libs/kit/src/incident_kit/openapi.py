"""Every status code and content type an operation can answer, documented once for all services.

FastAPI documents a route's success and its own 422 (as HTTPValidationError, application/json).
The kit answers more, always as RFC 9457 problem+json: 401 from the API-key guard, 400 for a
body that is not UTF-8, 413 past the body limit, 422 for invalid input (with `errors` naming
each field), 503 when shedding or a dependency is away, 500 for a defect. `document_problems`
rewrites the generated schema so each is documented where it can happen, with one shared
ProblemDetails schema; a status a route documents itself (404, 409) gets that content too.
The probes keep their own JSON answers: they are never shed and need no key.
"""

import copy
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from incident_kit.overload import NEVER_SHED
from incident_kit.problems import PROBLEM_JSON

Schema = dict[str, Any]
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})
PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetails"}

PROBLEM_DETAILS: Schema = {
    "title": "ProblemDetails",
    "description": "RFC 9457 problem details; more members may follow (e.g. `field`).",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "On 422: each invalid field, e.g. body.customer.email, and why.",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}

RETRY_AFTER = {"description": "Seconds to wait before sending again", "schema": {"type": "integer"}}
WWW_AUTHENTICATE = {"description": "Bearer", "schema": {"type": "string"}}

# What the kit answers, and when; a route's own description of the same status is kept.
Answer = tuple[int, str, Schema]
UNREADABLE_BODY: Answer = (400, "The body is not UTF-8 text", {})
NO_KEY: Answer = (401, "No API key, or not a known one", {"WWW-Authenticate": WWW_AUTHENTICATE})
TOO_LARGE: Answer = (413, "The body is larger than the service accepts", {})
INVALID: Answer = (422, "Invalid request: `errors` names each field and why", {})
DEFECT: Answer = (500, "Unexpected error: a defect, logged on our side", {})
UNAVAILABLE: Answer = (
    503,
    "Overloaded, or a dependency (the database) is away: nothing was done; send the request "
    "again after Retry-After seconds (a POST with the same Idempotency-Key).",
    {"Retry-After": RETRY_AFTER},
)


def install_problem_documentation(app: FastAPI) -> None:
    """Make `app.openapi()` (and so /openapi.json and /docs) document the kit's answers."""
    generate: Callable[[], Schema] = app.openapi

    def openapi() -> Schema:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override


def document_problems(schema: Schema) -> Schema:
    """A copy of a FastAPI OpenAPI schema with every kit answer documented as problem+json."""
    documented = copy.deepcopy(schema)
    for path, item in documented.get("paths", {}).items():
        if path in NEVER_SHED:
            continue
        for method, operation in item.items():
            if method in HTTP_METHODS:
                _document_operation(operation)
    components = documented.setdefault("components", {}).setdefault("schemas", {})
    components["ProblemDetails"] = PROBLEM_DETAILS
    # FastAPI's 422 body, no longer used; in this order, as the first refers to the second.
    for name in ("HTTPValidationError", "ValidationError"):
        others = {key: value for key, value in components.items() if key != name}
        if f"#/components/schemas/{name}'" not in repr((documented["paths"], others)):
            components.pop(name, None)
    return documented


def _document_operation(operation: Schema) -> None:
    responses: Schema = operation.setdefault("responses", {})
    answers = [DEFECT, UNAVAILABLE]
    if operation.get("security"):
        answers.append(NO_KEY)
    if "requestBody" in operation:
        answers += [UNREADABLE_BODY, TOO_LARGE, INVALID]
    elif operation.get("parameters"):
        answers.append(INVALID)
    for status, description, headers in answers:
        response = responses.setdefault(str(status), {"description": description})
        if response["description"] == "Validation Error":  # FastAPI's own 422 says less
            response["description"] = description
        response.setdefault("headers", {}).update(headers)
    for code, response in responses.items():
        if code.startswith(("4", "5")):
            # Every error is problem+json, also those a route documents (404, 409).
            response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
            if not response.get("headers"):
                response.pop("headers", None)
    operation["responses"] = dict(sorted(responses.items()))
