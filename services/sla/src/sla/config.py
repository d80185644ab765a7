"""The sla service's settings: the kit's infrastructure settings plus its own, prefixed SLA_."""

from incident_kit.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class SlaSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SLA_", extra="ignore", frozen=True)

    http_port: int = Field(default=8003, ge=1, le=65535)
    # Off the path from a report to its assignment: its consumer gathers a batch for 100 ms,
    # applying fewer, larger transactions and leaving the CPU to that path first. Against 20 ms,
    # in alternating runs (bench/results/20261203T080824Z to T081934Z, stages): POST→assigned
    # p50 27-52 ms against 27-103 at 50/s, 57-86 against 83-174 at 100/s.
    consumer_gather_ms: float = Field(default=100.0, ge=0, le=1000)
    # Another replica's change of a policy is seen within this time.
    policy_cache_seconds: float = Field(default=10.0, ge=0)
    # The longest the timer sleeps between looks at the clocks; bounds how late a clock fires.
    tick_seconds: float = Field(default=0.5, gt=0, le=60)
    # Clocks fired per transaction; a backlog (e.g. after downtime) drains in batches.
    fire_batch_size: int = Field(default=100, ge=1, le=10_000)
    # How late an event may reach Kafka after its own time (watermark.py): intake's relay sends
    # on commit and polls each second for the rest, plus clock skew. Every warning and breach
    # fires at least this late; a stop later than this retracts the breach instead.
    watermark_grace_seconds: float = Field(default=5.0, ge=0, le=3600)
    # How often the running-clocks gauge is counted from the database.
    gauge_refresh_seconds: float = Field(default=15.0, gt=0, le=3600)
