"""Field types whose validation accepts exactly what their JSON Schema says.

OpenAPI clients, and the fuzzer, take the schema at its word; where pydantic's defaults differ,
a request valid by the schema was refused, or one the schema forbids was taken (or failed later,
with a 500). Each type here closes one such gap:

- `NoNul`: PostgreSQL's text and jsonb cannot hold NUL (U+0000). Refused in validation (a 422
  naming the field) and documented as a pattern. Fields with a pattern of their own (slugs,
  codes) need nothing more: it already excludes NUL.
- `NotBlank`: also refuses text that is only whitespace, as the schema's pattern says. Checked
  in Python: Rust's `\\s` (pydantic's patterns) is narrower than Python's, which schema readers
  use.
- `NoCoercion` (for int, after its constraints: `Annotated[int, Field(ge=1), NoCoercion]`):
  pydantic's lax mode takes `true` as 1 and `"3"` as 3; a JSON Schema integer is neither.
- `EmailAddress`: email-validator refuses special-use domains (`.test`, `.local`), which the
  `email` format admits; the schema names them.
"""

from typing import Annotated, Any

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import BeforeValidator, EmailStr, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

NUL_FREE_PATTERN = r"^[^\x00]*$"
# At least one character that is neither NUL nor whitespace (str.isspace, as `\s` in Python).
NOT_BLANK_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"


def refuse_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def refuse_blank(value: str) -> str:
    refuse_nul(value)
    if not value.strip():
        raise ValueError("must not be blank")
    return value


class _Text:
    """Annotated metadata for str: validate with `check`, document as `pattern`."""

    def __init__(self, check: Any, pattern: str) -> None:
        self.check, self.pattern = check, pattern

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = self.pattern
        return json_schema


NoNul = _Text(refuse_nul, NUL_FREE_PATTERN)
NotBlank = _Text(refuse_blank, NOT_BLANK_PATTERN)


def refuse_coercion(value: Any) -> Any:
    if isinstance(value, bool | str):
        raise ValueError("must be an integer")
    return value


# Placed before the constraints, pydantic would document them as unknown keywords (`ge`).
NoCoercion = BeforeValidator(refuse_coercion)


def _any_case(name: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in name)


_SPECIAL_USE = "|".join(_any_case(name) for name in sorted(SPECIAL_USE_DOMAIN_NAMES))


class _Email:
    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["not"] = {"pattern": rf"\.(?:{_SPECIAL_USE})\.?$"}
        json_schema["description"] = "Not at a special-use domain (.test, .local, ...)."
        return json_schema


EmailAddress = Annotated[EmailStr, _Email()]
