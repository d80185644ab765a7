"""The notifier's settings: the kit's infrastructure settings plus SMTP and links, NOTIFIER_*."""

from incident_kit.settings import ServiceSettings
from pydantic import AnyHttpUrl, Field, field_validator
from pydantic_settings import SettingsConfigDict


class NotifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", extra="ignore", frozen=True)

    http_port: int = Field(default=8004, ge=1, le=65535)
    # Off the path from a report to its assignment: its consumer gathers a batch for 100 ms,
    # applying fewer, larger transactions and leaving the CPU to that path first. Against 20 ms,
    # in alternating runs (bench/results/20261203T080824Z to T081934Z, stages): POST→assigned
    # p50 27-52 ms against 27-103 at 50/s, 57-86 against 83-174 at 100/s.
    consumer_gather_ms: float = Field(default=100.0, ge=0, le=1000)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_from: str = "Support <support@example.com>"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    # Where customers reach the status page; the links in e-mails start with it.
    public_url: str = "http://127.0.0.1:8004"
    # The delivery worker: backoff between attempts, doubling from the base up to the cap,
    # until a message is this old; then it fails visibly (notification.failed).
    delivery_retry_base_seconds: float = Field(default=5.0, ge=0)
    delivery_retry_cap_seconds: float = Field(default=3600.0, gt=0)
    delivery_max_age_seconds: float = Field(default=24 * 3600.0, ge=0)
    # Another replica's change of a customer's preferences is seen within this time.
    preferences_cache_seconds: float = Field(default=10.0, ge=0)
    delivery_poll_seconds: float = Field(default=1.0, gt=0)
    delivery_lease_seconds: float = Field(default=120.0, gt=0)

    @field_validator("public_url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        AnyHttpUrl(value)  # raises with a clear message when it is not an http(s) URL
        return value.rstrip("/")
