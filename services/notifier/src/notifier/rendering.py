"""Turning decisions into text: e-mail subject and body from the localized Jinja2 templates,
and the customer status page (HTML, autoescaped: titles come from customers and may hold HTML)."""

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from notifier.domain import IncidentView
from notifier.localization import STATUS_PAGE_LABELS, format_due, status_name, supported_language


@cache
def _environment() -> Environment:
    # Cached: the templates ship with the package and never change while it runs.
    return Environment(
        loader=PackageLoader("notifier", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,  # a missing variable is a bug, not an empty line in a mail
        keep_trailing_newline=False,
    )


def render_message(template: str, language: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of `template` in `language`, in English when that language has none."""
    folder = supported_language(language)
    environment = _environment()
    subject = environment.get_template(f"{folder}/{template}.subject.txt").render(context)
    body = environment.get_template(f"{folder}/{template}.body.txt").render(context)
    # A header must be one line, whatever a customer typed into the title.
    return " ".join(subject.split()), body.strip() + "\n"


def render_status_page(view: IncidentView, language: str) -> str:
    """The customer's status page for one incident, in their language."""
    language = supported_language(language)
    due = view.first_response_due_at
    return (
        _environment()
        .get_template("status.html")
        .render(
            language=language,
            labels=STATUS_PAGE_LABELS[language],
            reference=view.reference,
            title=view.title,
            status=status_name(view.status, language),
            first_response_due=format_due(due, language, view.time_zone) if due else None,
        )
    )
