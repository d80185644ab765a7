"""`python -m intake migrate|serve`."""

from pathlib import Path

from incident_kit.cli import main

from intake.app import create_app
from intake.config import IntakeSettings

if __name__ == "__main__":
    main(
        service="intake",
        settings_class=IntakeSettings,
        create_app=create_app,
        migrations_dir=Path(__file__).resolve().parents[2] / "migrations",
    )
