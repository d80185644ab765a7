"""The typed settings base every service extends, and loading them with a clear error.

Infrastructure variables (KAFKA_*, DATABASE_URL) carry no prefix so one environment file serves
every service; service variables carry the service prefix (e.g. INTAKE_HTTP_PORT).
"""

import sys
from typing import Literal, TypeVar

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class ServiceSettings(BaseSettings):
    """What every service needs to reach Kafka and PostgreSQL and to serve HTTP."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    kafka_bootstrap_servers: str = Field(validation_alias=_env("KAFKA_BOOTSTRAP_SERVERS"))
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", validation_alias=_env("KAFKA_SECURITY_PROTOCOL")
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        default=None, validation_alias=_env("KAFKA_SASL_MECHANISM")
    )
    kafka_sasl_username: str | None = Field(
        default=None, validation_alias=_env("KAFKA_SASL_USERNAME")
    )
    kafka_sasl_password: str | None = Field(
        default=None, validation_alias=_env("KAFKA_SASL_PASSWORD")
    )
    kafka_ssl_cafile: str | None = Field(default=None, validation_alias=_env("KAFKA_SSL_CAFILE"))
    kafka_topic_prefix: str = Field(
        default="",
        validation_alias=_env("KAFKA_TOPIC_PREFIX"),
        description="Prepended to every topic and consumer group: environments sharing a cluster.",
    )
    kafka_topic_partitions: int = Field(
        default=3,
        ge=1,
        le=1000,
        validation_alias=_env("KAFKA_TOPIC_PARTITIONS"),
        description="Partitions of a topic a subscriber creates when it is missing.",
    )
    database_url: str = Field(validation_alias=_env("DATABASE_URL"))
    api_keys: str = Field(
        default="",
        validation_alias=_env("API_KEYS"),
        description="Comma-separated keys accepted as Authorization: Bearer on the API.",
    )
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    processes: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Worker processes serving on one port; each is a consumer-group member.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    handler_retries: int = Field(
        default=3, ge=0, le=20, description="In-place retries of a failing handler (not outages)."
    )
    consumer_batch_size: int = Field(
        default=500, ge=1, le=10_000, description="Most records a subscriber applies at once."
    )
    consumer_poll_ms: int = Field(
        default=100,
        ge=1,
        le=5000,
        description="How long an idle subscriber's poll waits; records return as they arrive.",
    )
    consumer_gather_ms: float = Field(
        default=0.0,
        ge=0,
        le=1000,
        description="Once records arrive, how long a subscriber waits for more to join the batch: "
        "fewer, larger transactions, each event that much later. For a service off the path from "
        "a report to its assignment, which then also leaves the CPU to that path. 0: at once.",
    )
    retry_max_backoff_seconds: float = Field(
        default=30.0, gt=0, description="The longest pause between retries of an outage."
    )
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    outbox_retention_hours: float = Field(
        default=24, gt=0, description="How long published events stay in the outbox table."
    )
    inbox_retention_hours: float = Field(
        default=336,
        gt=0,
        description="How long a consumer remembers an event it processed, to recognise a "
        "redelivery; longer than the topics keep their records (Kafka's default: 168).",
    )
    retention_prune_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often each process deletes rows past their retention (the inbox's "
        "claims; intake's Idempotency-Keys).",
    )
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    max_in_flight_requests: int = Field(
        default=256,
        ge=1,
        description="HTTP requests one process works on at once; more are answered 503 at once.",
    )
    overload_retry_after_seconds: int = Field(
        default=1, ge=0, le=3600, description="Retry-After sent with a 503 for overload."
    )
    database_pool_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How long a request waits for a pooled connection before it answers 503.",
    )
    readiness_timeout_seconds: float = Field(
        default=2.0, gt=0, le=30, description="The longest one /readyz check may take."
    )

    @property
    def api_key_set(self) -> frozenset[str]:
        return frozenset(key.strip() for key in self.api_keys.split(",") if key.strip())

    @field_validator("database_url")
    @classmethod
    def _asyncpg_url(cls, value: str) -> str:
        return asyncpg_url(value)


def asyncpg_url(value: str) -> str:
    """A PostgreSQL URL as SQLAlchemy's asyncpg driver takes it; a ValueError for any other."""
    if value.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + value.split("://", 1)[1]
    if not value.startswith("postgresql+asyncpg://"):
        raise ValueError("must be a postgresql:// or postgresql+asyncpg:// URL")
    return value


S = TypeVar("S", bound=ServiceSettings)


def env_name(settings_class: type[ServiceSettings], location: str) -> str:
    """The environment variable behind an error location (a field name or one of its aliases)."""
    for name, info in settings_class.model_fields.items():
        alias = info.validation_alias
        choices = [str(c) for c in alias.choices] if isinstance(alias, AliasChoices) else []
        if location == name or location in choices:
            return choices[0] if choices else f"{_prefix(settings_class)}{name}".upper()
    return f"{_prefix(settings_class)}{location}".upper()


def _prefix(settings_class: type[ServiceSettings]) -> str:
    return str(settings_class.model_config.get("env_prefix", ""))


def load_settings(settings_class: type[S]) -> S:
    """Read settings from the environment, or exit naming each missing or malformed variable."""
    try:
        return settings_class()
    except ValidationError as error:
        lines = [
            f"  {env_name(settings_class, str(item['loc'][0]))}: {item['msg']}"
            for item in error.errors()
        ]
        print("configuration error:\n" + "\n".join(lines), file=sys.stderr)
        raise SystemExit(2) from None
