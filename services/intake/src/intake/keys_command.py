"""`python -m intake keys create|revoke|list`: the API keys of intake's client systems.

    python -m intake keys create --client shop --scopes report        # prints the key, once
    python -m intake keys revoke --client shop [--key KEY_ID]         # all its keys, or one
    python -m intake keys list

A client is created with its first key; its name is its id, recorded on every incident it
reports. Only DATABASE_URL is needed (migrated with `python -m intake migrate`). The keys of
API_KEYS are not managed here: they are the built-in client `env`, holding every scope; the
channels' built-in clients (`email`, `web-form`, `events`) have no keys to make either. A key
holding `report` is also a routing key of the Events API (POST /v1/integrations/events).
Replicas notice a revocation within INTAKE_API_KEY_CACHE_SECONDS.
"""

import argparse
import asyncio
import re
import sys
from collections.abc import Sequence
from typing import TextIO

from incident_kit.clock import SystemClock
from incident_kit.database import create_engine, create_session_factory
from incident_kit.errors import sqlstate_of
from incident_kit.settings import asyncpg_url
from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.exc import ProgrammingError

from intake import api_keys, repository
from intake.domain import BUILT_IN_CLIENT_IDS, ENV_CLIENT_ID, Scope
from intake.domain.clients import CLIENT_ID_PATTERN, parse_scopes

UNDEFINED_TABLE = "42P01"
# Every column of the listing but the last is padded to this width (CREATED: an ISO time
# with microseconds and offset).
COLUMNS = (("CLIENT", 24), ("KEY ID", 14), ("SCOPES", 20), ("CREATED", 32), ("REVOKED", 0))


class KeySettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    database_url: str = Field(validation_alias=AliasChoices("DATABASE_URL", "database_url"))

    @field_validator("database_url")
    @classmethod
    def _asyncpg_url(cls, value: str) -> str:
        return asyncpg_url(value)


def client_name(text: str) -> str:
    if not re.fullmatch(CLIENT_ID_PATTERN, text):
        raise argparse.ArgumentTypeError(
            "1-64 characters: lower-case letters, digits, '.', '_' or '-', starting with a "
            "letter or digit"
        )
    if text == ENV_CLIENT_ID:
        raise argparse.ArgumentTypeError(f"{ENV_CLIENT_ID!r} is the built-in client of API_KEYS")
    if text in BUILT_IN_CLIENT_IDS:
        raise argparse.ArgumentTypeError(f"{text!r} is the built-in client of a channel")
    return text


def scopes(text: str) -> frozenset[Scope]:
    try:
        return parse_scopes(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def parser() -> argparse.ArgumentParser:
    commands = argparse.ArgumentParser(prog="python -m intake keys", description=__doc__)
    sub = commands.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="make a key for a client; prints it once")
    create.add_argument("--client", required=True, type=client_name, help="the client's name")
    create.add_argument(
        "--scopes", required=True, type=scopes, help="comma-separated: report, agent, admin"
    )
    revoke = sub.add_parser("revoke", help="revoke a client's keys")
    revoke.add_argument("--client", required=True, type=client_name)
    revoke.add_argument("--key", dest="key_id", help="only this key id (from `keys list`)")
    sub.add_parser("list", help="every client's keys, revoked ones too")
    return commands


def main(argv: Sequence[str] | None = None, *, out: TextIO = sys.stdout) -> int:
    arguments = parser().parse_args(argv)
    try:
        settings = KeySettings()
    except ValidationError as error:
        print(f"configuration error: DATABASE_URL: {error.errors()[0]['msg']}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(arguments, settings.database_url, out))
    except ProgrammingError as error:
        if sqlstate_of(error) != UNDEFINED_TABLE:
            raise
        print("intake's tables are missing: run `python -m intake migrate`", file=sys.stderr)
        return 2


async def _run(arguments: argparse.Namespace, database_url: str, out: TextIO) -> int:
    engine = create_engine(database_url, application_name="intake keys", pool_size=1)
    sessions = create_session_factory(engine)
    now = SystemClock().now()
    try:
        async with sessions.begin() as session:
            match arguments.command:
                case "create":
                    issued = api_keys.issue_key()
                    await repository.add_key(
                        session,
                        client_id=arguments.client,
                        key_id=issued.key_id,
                        digest=issued.digest,
                        scopes=arguments.scopes,
                        now=now,
                    )
                    print(issued.key, file=out)
                    shown = ",".join(str(s) for s in Scope if s in arguments.scopes)
                    print(
                        f"client {arguments.client}, key {issued.key_id}, scopes {shown}: "
                        "keep the key now, it is not shown again",
                        file=sys.stderr,
                    )
                case "revoke":
                    revoked = await repository.revoke_keys(
                        session, client_id=arguments.client, key_id=arguments.key_id, now=now
                    )
                    if not revoked:
                        print(f"no key in use to revoke for {arguments.client}", file=sys.stderr)
                        return 1
                    print(f"revoked {', '.join(revoked)}", file=out)
                case _:
                    _list(await repository.all_keys(session), out)
    finally:
        await engine.dispose()
    return 0


def _list(keys: Sequence[repository.StoredKey], out: TextIO) -> None:
    print(_row(*(title for title, _ in COLUMNS)), file=out)
    for key in keys:
        scopes_held = ",".join(str(scope) for scope in Scope if scope in key.client.scopes)
        revoked = key.revoked_at.isoformat() if key.revoked_at else "-"
        row = (key.client.client_id, key.key_id, scopes_held, key.created_at.isoformat(), revoked)
        print(_row(*row), file=out)


def _row(*cells: str) -> str:
    return " ".join(cell.ljust(width) for cell, (_, width) in zip(cells, COLUMNS, strict=True))
