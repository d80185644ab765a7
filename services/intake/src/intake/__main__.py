"""`python -m intake migrate|serve`, and `python -m intake keys ...` (intake.keys_command)."""

import sys
from pathlib import Path

from incident_kit.cli import main

from intake import keys_command
from intake.app import create_app
from intake.config import IntakeSettings

if __name__ == "__main__":
    if sys.argv[1:2] == ["keys"]:
        sys.exit(keys_command.main(sys.argv[2:]))
    main(
        service="intake",
        settings_class=IntakeSettings,
        create_app=create_app,
        migrations_dir=Path(__file__).resolve().parents[2] / "migrations",
    )
