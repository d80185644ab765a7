"""The router's settings: the kit's infrastructure settings plus its own, prefixed ROUTER_."""

from incident_kit.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class RouterSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTER_", extra="ignore", frozen=True)

    http_port: int = Field(default=8002, ge=1, le=65535)
    queue_depth_refresh_seconds: float = Field(default=15.0, gt=0)
