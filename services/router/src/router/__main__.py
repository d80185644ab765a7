"""`python -m router migrate|serve`."""

from pathlib import Path

from incident_kit.cli import main

from router.app import create_app
from router.config import RouterSettings

if __name__ == "__main__":
    main(
        service="router",
        settings_class=RouterSettings,
        create_app=create_app,
        migrations_dir=Path(__file__).resolve().parents[2] / "migrations",
    )
