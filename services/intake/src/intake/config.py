"""Intake's settings: the kit's infrastructure settings plus its own, prefixed INTAKE_."""

from incident_kit.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from intake.channels.config import ChannelSettings


class IntakeSettings(ChannelSettings, ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore", frozen=True)

    http_port: int = Field(default=8001, ge=1, le=65535)
    # Off the path from a report to its assignment: its consumer gathers a batch for 100 ms,
    # applying fewer, larger transactions and leaving the CPU (and this process's event loop,
    # which serves the reports too) to that path first. Against 20 ms, in alternating runs
    # (bench/results/20261203T181846Z to T182532Z, pipeline): POST→assigned at 200/s p50/p99
    # 39/73, 25/57 and 34/71 ms against 60/115, 30/62 and 40/75.
    consumer_gather_ms: float = Field(default=100.0, ge=0, le=1000)
    reference_block: int = Field(
        default=20,
        ge=1,
        le=1000,
        description="Reference numbers drawn from the database at once and handed out by this "
        "process: fewer round trips; numbers then follow creation order only within a process, "
        "and the rest of a block is skipped when it stops. 1: each group draws its own.",
    )
    # A group's statements take their rows as arrays, so its size does not meet PostgreSQL's
    # limit of bind parameters; the limit bounds a group's transaction and its answers' wait.
    group_commit_max_reports: int = Field(
        default=200,
        ge=1,
        le=1000,
        description="Reports committed together at most; a full group commits at once.",
    )
    group_commit_wait_ms: float = Field(
        default=5.0,
        ge=0,
        le=1000,
        description="How long the first report of a group waits for others to join it, while "
        "another group commits (with none committing, a group goes at once); it matters only "
        "with more than one group in flight, since one waits for the slot first. Intake alone "
        "accepted about 10 % more with 5 than with 2 (4 in flight).",
    )
    group_commit_max_in_flight: int = Field(
        default=1,
        ge=1,
        le=20,
        description="Group transactions running at once, each on one pooled connection; while "
        "all run, the next group grows. With one, what arrives while a group commits goes in "
        "the next group, so groups grow with the load: against 4, intake alone accepted as "
        "many (1,785-1,971/s against 1,664-1,790) and the pipeline's p99 at 200/s fell (80 "
        "and 99 ms against 110 and 146). More overlap groups when the database is slow to "
        "answer, but under overload they share the process with more work at once (at 400/s "
        "offered, 16 timed a fifth of the requests out where 4 timed none out). With one, a group "
        "waiting on a row lock (an API change of its customer) holds up every report behind it.",
    )
    idempotency_key_retention_hours: float = Field(
        default=24,
        gt=0,
        description="How long a client's Idempotency-Key is remembered: a retry within it gets "
        "the first answer; once the key is pruned after it, the key is free again.",
    )
    closed_final_after_hours: float = Field(
        default=168,
        ge=0,
        le=24 * 365,
        description="How long a closed incident may still be reopened; after that it is final "
        "and nothing changes it (0: final when closed).",
    )
    api_key_cache_seconds: float = Field(
        default=30,
        ge=0,
        le=3600,
        description="How long a replica trusts what it looked up about an API key of intake's "
        "own: a revoked key keeps working at most this long (0: looked up on every request).",
    )
