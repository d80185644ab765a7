"""Field types whose validation accepts exactly what their JSON Schema says: each value is
checked against both, the way schemathesis reads the schema (Python's `re`)."""

import re
from typing import Annotated, Any

import pytest
from incident_kit.fields import EmailAddress, NoCoercion, NoNul, NotBlank
from pydantic import Field, TypeAdapter, ValidationError

NOTE = TypeAdapter(Annotated[str, NoNul])
TITLE = TypeAdapter(Annotated[str, Field(max_length=20), NotBlank])
LEVEL = TypeAdapter(Annotated[int, Field(ge=1, le=5), NoCoercion])
EMAIL = TypeAdapter(EmailAddress)


def accepted(adapter: TypeAdapter[Any], value: object) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


def matches_pattern(adapter: TypeAdapter[Any], value: str) -> bool:
    return re.search(adapter.json_schema()["pattern"], value) is not None


@pytest.mark.parametrize(
    ("value", "valid"),
    [("as given ", True), ("", True), ("<b>&</b>", True), ("a\x00b", False), ("\x00", False)],
)
def test_no_nul_agrees_with_its_pattern(value: str, valid: bool) -> None:
    assert accepted(NOTE, value) is valid
    assert matches_pattern(NOTE, value) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("Checkout fails", True),
        ("  padded  ", True),  # kept as given
        ("   ", False),
        ("\t\n", False),
        ("\x1c", False),  # whitespace to Python (str.isspace), not to Rust's regex
        ("\u3000", False),
        ("x\x00", False),
    ],
)
def test_not_blank_agrees_with_its_pattern(value: str, valid: bool) -> None:
    assert accepted(TITLE, value) is valid
    assert matches_pattern(TITLE, value) is valid


def test_not_blank_keeps_the_other_constraints() -> None:
    schema = TITLE.json_schema()
    assert schema["maxLength"] == 20
    assert not accepted(TITLE, "x" * 21)
    assert TITLE.validate_python("  padded  ") == "  padded  "


@pytest.mark.parametrize(
    ("value", "valid"),
    [(3, True), (3.0, True), (True, False), (False, False), ("3", False), (0, False), (2.5, False)],
)
def test_integers_are_not_coerced_from_booleans_or_text(value: object, valid: bool) -> None:
    assert accepted(LEVEL, value) is valid


def test_no_coercion_keeps_the_bounds_in_the_schema() -> None:
    assert LEVEL.json_schema() == {"type": "integer", "minimum": 1, "maximum": 5}


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("ann@example.com", True),
        ("ann@mail.example.org", True),
        ("ann@host.test", False),  # special-use: email-validator refuses it
        ("ann@printer.LOCAL", False),
        ("ann@x.onion", False),
    ],
)
def test_special_use_domains_are_refused_and_documented(value: str, valid: bool) -> None:
    assert accepted(EMAIL, value) is valid
    excluded = EMAIL.json_schema()["not"]["pattern"]
    assert (re.search(excluded, value) is None) is valid
