"""Language-dependent wording outside the templates: dates, durations with correct plural forms,
status names and the labels of the status page, for every supported language (pure)."""

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SUPPORTED_LANGUAGES = ("en", "cs", "pl", "ru")
DEFAULT_LANGUAGE = "en"

# Genitive month names: that is the form a day-month date takes in Czech, Polish and Russian.
_MONTHS = {
    "en": "January February March April May June July August September October November December",
    "cs": "ledna února března dubna května června července srpna září října listopadu prosince",
    "pl": "stycznia lutego marca kwietnia maja czerwca lipca sierpnia września października "
    "listopada grudnia",
    "ru": "января февраля марта апреля мая июня июля августа сентября октября ноября декабря",
}
_DATE_FORMATS = {
    "en": "{day} {month} {year}, {time} {zone}",
    "cs": "{day}. {month} {year} v {time} {zone}",
    "pl": "{day} {month} {year} r., godz. {time} {zone}",
    "ru": "{day} {month} {year} г., {time} {zone}",
}
# Nominative forms: one, few (2-4), many; English uses only one and many.
_UNITS = {
    "en": {"hour": ("hour", "hours", "hours"), "minute": ("minute", "minutes", "minutes")},
    "cs": {"hour": ("hodina", "hodiny", "hodin"), "minute": ("minuta", "minuty", "minut")},
    "pl": {"hour": ("godzina", "godziny", "godzin"), "minute": ("minuta", "minuty", "minut")},
    "ru": {"hour": ("час", "часа", "часов"), "minute": ("минута", "минуты", "минут")},
}
STATUS_NAMES = {
    "en": {
        "new": "Received",
        "assigned": "Assigned to an agent",
        "in_progress": "In progress",
        "waiting_on_customer": "Waiting for your reply",
        "resolved": "Resolved",
        "reopened": "Reopened",
        "closed": "Closed",
    },
    "cs": {
        "new": "Přijato",
        "assigned": "Přiděleno pracovníkovi podpory",
        "in_progress": "Řeší se",
        "waiting_on_customer": "Čekáme na vaši odpověď",
        "resolved": "Vyřešeno",
        "reopened": "Znovu otevřeno",
        "closed": "Uzavřeno",
    },
    "pl": {
        "new": "Przyjęte",
        "assigned": "Przydzielone konsultantowi",
        "in_progress": "W realizacji",
        "waiting_on_customer": "Czekamy na Twoją odpowiedź",
        "resolved": "Rozwiązane",
        "reopened": "Ponownie otwarte",
        "closed": "Zamknięte",
    },
    "ru": {
        "new": "Принято",
        "assigned": "Назначено специалисту",
        "in_progress": "В работе",
        "waiting_on_customer": "Ожидаем вашего ответа",
        "resolved": "Решено",
        "reopened": "Открыто повторно",
        "closed": "Закрыто",
    },
}
STATUS_PAGE_LABELS = {
    "en": {
        "heading": "Status of your request",
        "reference": "Reference",
        "title": "Subject",
        "status": "Status",
        "first_response_due": "We will respond by",
        "not_yet_known": "to be confirmed",
    },
    "cs": {
        "heading": "Stav vašeho požadavku",
        "reference": "Číslo požadavku",
        "title": "Předmět",
        "status": "Stav",
        "first_response_due": "Ozveme se nejpozději do",
        "not_yet_known": "upřesníme",
    },
    "pl": {
        "heading": "Status Twojego zgłoszenia",
        "reference": "Numer zgłoszenia",
        "title": "Temat",
        "status": "Status",
        "first_response_due": "Odpowiemy najpóźniej do",
        "not_yet_known": "do potwierdzenia",
    },
    "ru": {
        "heading": "Статус вашего обращения",
        "reference": "Номер обращения",
        "title": "Тема",
        "status": "Статус",
        "first_response_due": "Мы ответим не позднее",
        "not_yet_known": "уточняется",
    },
}


def supported_language(tag: str | None) -> str:
    """The supported language for a BCP 47 tag (`cs-CZ` -> `cs`); English for any other."""
    primary = (tag or "").replace("_", "-").split("-")[0].strip().lower()
    return primary if primary in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


def format_due(moment: datetime, language: str, time_zone: str | None = None) -> str:
    """A date and time as a reader of `language` writes it, in the customer's time zone named
    by its IANA name (`3. března 2025 v 15:30 Europe/Prague`); in UTC when the zone is unknown
    (`... 14:30 UTC`). Names are unambiguous where abbreviations (CST, IST) are not."""
    language = supported_language(language)
    zone = _zone(time_zone)
    local = moment.astimezone(zone or UTC)
    month = _MONTHS[language].split()[local.month - 1]
    return _DATE_FORMATS[language].format(
        day=local.day,
        month=month,
        year=local.year,
        time=local.strftime("%H:%M"),
        zone=time_zone if zone else "UTC",
    )


def _zone(name: str | None) -> tzinfo | None:
    """The zone of an IANA name; None for none or one this system does not know (an event
    from a newer tz database, say): the time is then given in UTC rather than not at all."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def plural_form(count: int, language: str) -> int:
    """0 = one, 1 = few, 2 = many, following the CLDR rules for integers of each language."""
    if language == "en":
        return 0 if count == 1 else 2
    if language == "cs":
        return 0 if count == 1 else 1 if 2 <= count <= 4 else 2
    last, last_two = count % 10, count % 100
    few = 2 <= last <= 4 and not 12 <= last_two <= 14
    if language == "pl":
        return 0 if count == 1 else 1 if few else 2
    return 0 if last == 1 and last_two != 11 else 1 if few else 2  # ru


def format_window(seconds: int, language: str) -> str:
    """An agreed window in hours and minutes: `4 hodiny`, `1 hour 30 minutes`, `45 минут`."""
    language = supported_language(language)
    minutes_total = -(-seconds // 60)  # rounded up: never promise less than was agreed
    hours, minutes = divmod(minutes_total, 60)
    parts = [(hours, "hour")] if hours else []
    if minutes or not hours:
        parts.append((minutes, "minute"))
    units = _UNITS[language]
    return " ".join(f"{n} {units[unit][plural_form(n, language)]}" for n, unit in parts)


def status_name(status: str, language: str) -> str:
    return STATUS_NAMES[supported_language(language)].get(status, status)
