"""Versioned, idempotent DDL migrations: the SQL files in `tenure.schema.migrations` are the single
source of truth for every table.

Files are named `NNN_name.sql`, applied in number order and recorded in `tenure.schema_migrations`;
each statement is also idempotent (`IF NOT EXISTS`), so a crash between a statement and its record is
harmless. Files are append-only history: change a table by adding the next number.

Takes any object with clickhouse-connect's `command` method, so this module imports no driver.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Protocol

DATABASE = "tenure"
_FILE_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
_STATEMENT_END = re.compile(r";[ \t]*(?:\n|$)")


class CommandClient(Protocol):
    def command(self, cmd: str, parameters=None, settings=None): ...


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def _strip_comments(sql: str) -> str:
    return "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))


def load_migrations() -> list[Migration]:
    """All migrations shipped with the package, oldest first."""
    found = []
    for entry in resources.files("tenure.schema.migrations").iterdir():
        match = _FILE_NAME.match(entry.name)
        if not match:
            continue
        body = _strip_comments(entry.read_text(encoding="utf-8"))
        statements = tuple(s.strip() for s in _STATEMENT_END.split(body) if s.strip())
        found.append(Migration(int(match.group(1)), match.group(2), statements))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found


def latest_version() -> int:
    migrations = load_migrations()
    return migrations[-1].version if migrations else 0


def _ensure_ledger(client: CommandClient) -> None:
    client.command(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
    client.command(
        f"CREATE TABLE IF NOT EXISTS {DATABASE}.schema_migrations "
        "(version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
        "ENGINE = ReplacingMergeTree ORDER BY version"
    )


def applied_versions(client) -> set[int]:
    """Versions recorded in the ledger (which must exist: `apply_migrations` creates it)."""
    result = client.query(f"SELECT DISTINCT version FROM {DATABASE}.schema_migrations")
    return {row[0] for row in result.result_rows}


def apply_migrations(client) -> list[int]:
    """Apply every migration not yet recorded; returns the versions applied now."""
    _ensure_ledger(client)
    done = applied_versions(client)
    applied = []
    for migration in load_migrations():
        if migration.version in done:
            continue
        for statement in migration.statements:
            client.command(statement)
        client.command(
            f"INSERT INTO {DATABASE}.schema_migrations (version, name) VALUES "
            f"({migration.version:d}, '{migration.name}')"
        )
        applied.append(migration.version)
    return applied
