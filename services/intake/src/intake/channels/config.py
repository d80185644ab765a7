"""The settings of intake's channels besides its own API (prefix INTAKE_, mixed into
IntakeSettings): Alertmanager's severity mapping, the Events API's routing keys, the inbound
SMTP server and the customer web form. Checked at start, each error naming its variable."""

from incident_events.types import Severity
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

SEVERITIES = [severity.value for severity in Severity]


def parse_pairs(text: str) -> dict[str, str | None]:
    """`a=b,c` as {"a": "b", "c": None}; blanks around items and names are ignored."""
    pairs: dict[str, str | None] = {}
    for item in text.split(","):
        name, has_value, value = (part.strip() for part in item.partition("="))
        if not name and not has_value:
            continue
        if not name or (has_value and not value):
            raise ValueError(f"{item.strip()!r} is not `name` or `name=value`")
        pairs[name] = value if has_value else None
    return pairs


class ChannelSettings(BaseSettings):
    alertmanager_severity_label: str = Field(
        default="severity", min_length=1, description="The alert label that carries severity."
    )
    alertmanager_severity_map: str = Field(
        default="critical=critical,error=high,warning=medium,info=low",
        description="label value=severity, comma-separated; values not listed get the default.",
    )
    alertmanager_default_severity: Severity = Severity.MEDIUM
    alertmanager_customer_label: str = Field(
        default="customer",
        min_length=1,
        description="The alert label naming the customer; without it, `alertmanager:<receiver>`.",
    )
    events_routing_keys: SecretStr = Field(
        default=SecretStr(""),
        description="Routing keys of the Events API besides API keys holding `report`, "
        "comma-separated, each `key` or `key=customer_id` (the customer its incidents are for; "
        "else `events:<source>`); they report as the built-in client `events`.",
    )
    smtp_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Port of the inbound mail (SMTP) server; unset: no server; 0: any free one.",
    )
    smtp_host: str = "127.0.0.1"
    smtp_max_message_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        description="Larger messages are refused with SMTP 552.",
    )
    email_severity: Severity = Field(
        default=Severity.MEDIUM, description="The severity of an incident reported by e-mail."
    )
    form_secret: SecretStr | None = Field(
        default=None,
        description="Signs the web form's CSRF tokens; unset: a random one per process (set it "
        "when more than one process serves the form).",
    )
    form_reports_per_minute: int = Field(
        default=10, ge=1, le=10_000, description="Web form reports one address may send a minute."
    )

    @field_validator("alertmanager_severity_map")
    @classmethod
    def _severity_map(cls, value: str) -> str:
        for label, severity in parse_pairs(value).items():
            if severity not in SEVERITIES:
                raise ValueError(f"{label}={severity}: severity must be one of {SEVERITIES}")
        return value

    @field_validator("events_routing_keys")
    @classmethod
    def _routing_keys(cls, value: SecretStr) -> SecretStr:
        parse_pairs(value.get_secret_value())
        return value

    @property
    def alertmanager_severities(self) -> dict[str, Severity]:
        pairs = parse_pairs(self.alertmanager_severity_map)
        # Label values are matched without regard to case: `Critical` and `critical` alike.
        return {label.lower(): Severity(s) for label, s in pairs.items() if s}

    @property
    def routing_key_customers(self) -> dict[str, str | None]:
        return parse_pairs(self.events_routing_keys.get_secret_value())
