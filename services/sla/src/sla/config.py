"""The sla service's settings: the kit's infrastructure settings plus its own, prefixed SLA_."""

from incident_kit.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class SlaSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SLA_", extra="ignore", frozen=True)

    http_port: int = Field(default=8003, ge=1, le=65535)
    # The longest the timer sleeps between looks at the clocks; bounds how late a clock fires.
    tick_seconds: float = Field(default=0.5, gt=0, le=60)
    # Clocks fired per transaction; a backlog (e.g. after downtime) drains in batches.
    fire_batch_size: int = Field(default=100, ge=1, le=10_000)
