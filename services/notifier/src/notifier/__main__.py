"""`python -m notifier migrate|serve`."""

from pathlib import Path

from incident_kit.cli import main

from notifier.app import create_app
from notifier.config import NotifierSettings

main(
    service="notifier",
    settings_class=NotifierSettings,
    create_app=create_app,
    migrations_dir=Path(__file__).resolve().parents[2] / "migrations",
)
