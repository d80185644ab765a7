"""The customer web form's content (pure): the language a page is shown in, its wording in
that language, and a posted form read into a report or into errors per field, each a message
the customer can act on, in their language."""

import json
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Annotated

from incident_events.types import Channel, IncidentKind, Severity
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, ValidationError

from intake.domain import CustomerDetails, IncidentReport, derive_customer_id
from intake.schemas.fields import NoNul, NotBlank

LANGUAGES = ("en", "cs", "pl", "ru")
DEFAULT_LANGUAGE = "en"
TEXTS = Path(__file__).with_name("web_form_text")
FIELDS = ("name", "email", "phone", "title", "description", "severity", "kind")
REQUIRED = ("email", "title", "description")
Text = Annotated[str, StringConstraints(max_length=20_000), NoNul, NotBlank]
# People type stray spaces around a title in a form; the JSON API keeps what it is sent.
FormTitle = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NotBlank
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), NoNul]
Phone = Annotated[str, Field(pattern=r"^\+?[0-9 ()./-]{3,40}$")]


@cache
def texts(language: str) -> Mapping[str, str]:
    """The page's wording in a supported language (read once)."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    wording: dict[str, str] = json.loads((TEXTS / f"{language}.json").read_text("utf-8"))
    return wording


def choose_language(asked: str | None, accept_language: str | None) -> str:
    """?lang= when supported, else the browser's most preferred supported language."""
    if asked in LANGUAGES:
        return asked
    preferences = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, parameters = item.strip().partition(";")
        quality = re.search(r"q=([0-9.]+)", parameters)
        weight = _float(quality.group(1)) if quality else 1.0
        preferences.append((-weight, position, tag.split("-")[0].strip().lower()))
    for weight, _, language in sorted(preferences):
        if weight < 0 and language in LANGUAGES:
            return language
    return DEFAULT_LANGUAGE


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


class WebReport(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: Name | None = None
    email: EmailStr
    phone: Phone | None = None
    title: FormTitle
    description: Text
    severity: Severity = Severity.MEDIUM
    kind: IncidentKind = IncidentKind.INCIDENT

    def to_report(self, language: str) -> IncidentReport:
        customer_id = derive_customer_id(customer_id=None, email=self.email, phone=None) or ""
        customer = CustomerDetails(
            customer_id=customer_id,
            name=self.name or None,
            email=self.email,
            phone=self.phone,
            language=language,
        )
        return IncidentReport(
            title=self.title,
            description=self.description,
            severity=self.severity,
            kind=self.kind,
            channel=Channel.WEB,
            customer=customer,
            language=language,
        )


def read_form(values: Mapping[str, str]) -> WebReport | dict[str, str]:
    """The report, or the error message key of each bad field (e.g. error_required)."""
    # An empty optional field is not given; a required one stays, to be reported missing.
    given = {k: v for k, v in values.items() if k in FIELDS and (v.strip() or k in REQUIRED)}
    try:
        return WebReport.model_validate(given)
    except ValidationError as error:
        errors: dict[str, str] = {}
        for item in error.errors():
            field = str(item["loc"][0]) if item["loc"] else "title"
            errors.setdefault(field, _message_key(field, item["type"], given.get(field, "")))
        return errors


def _message_key(field: str, kind: str, value: str) -> str:
    if kind == "missing" or not value.strip():
        return "error_required"
    if kind == "string_too_long":
        return "error_too_long"
    if field in ("email", "phone"):
        return f"error_{field}"
    return "error_invalid"
