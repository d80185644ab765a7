"""`python -m sla migrate|serve`."""

from pathlib import Path

from incident_kit.cli import main

from sla.app import create_app
from sla.config import SlaSettings

main(
    service="sla",
    settings_class=SlaSettings,
    create_app=create_app,
    migrations_dir=Path(__file__).resolve().parents[2] / "migrations",
)
