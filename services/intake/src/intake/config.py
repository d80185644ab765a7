"""Intake's settings: the kit's infrastructure settings plus its own, prefixed INTAKE_."""

from incident_kit.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore", frozen=True)

    http_port: int = Field(default=8001, ge=1, le=65535)
