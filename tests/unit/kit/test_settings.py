"""Settings: a missing or malformed variable stops the service with a message naming it."""

import pytest
from incident_kit.settings import ServiceSettings, load_settings
from pydantic_settings import SettingsConfigDict


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore", frozen=True)
    http_port: int = 8009


def test_reads_shared_variables_without_prefix_and_own_with_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@127.0.0.1:5432/db")
    monkeypatch.setenv("DEMO_HTTP_PORT", "9001")
    monkeypatch.setenv("API_KEYS", "one, two,")
    settings = load_settings(DemoSettings)
    assert settings.http_port == 9001
    assert settings.database_url == "postgresql+asyncpg://u@127.0.0.1:5432/db"
    assert settings.api_key_set == frozenset({"one", "two"})


def test_missing_and_malformed_variables_are_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("DATABASE_URL", "mysql://nope")
    monkeypatch.setenv("DEMO_HTTP_PORT", "eighty")
    with pytest.raises(SystemExit) as stopped:
        load_settings(DemoSettings)
    assert stopped.value.code == 2
    lines = [line.strip() for line in capsys.readouterr().err.splitlines()]
    assert lines[0] == "configuration error:"
    assert "KAFKA_BOOTSTRAP_SERVERS: Field required" in lines
    assert any(
        line.startswith("DATABASE_URL: Value error, must be a postgresql://") for line in lines
    )
    assert any(line.startswith("DEMO_HTTP_PORT: Input should be a valid integer") for line in lines)
