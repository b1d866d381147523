"""The DDL is the single source of truth: migrations apply cleanly and idempotently, the resulting
tables match the committed snapshot, and the writer's column lists match the tables."""

from __future__ import annotations

from pathlib import Path

from tenure.collector.ingest import EVENT_COLUMNS, QUARANTINE_COLUMNS
from tenure.schema.migrate import latest_version, load_migrations

SNAPSHOT = Path(__file__).parent / "schema_snapshot.sql"


def _show_create(collector) -> str:
    tables = collector.query("SELECT name FROM system.tables WHERE database = 'tenure' AND name != 'schema_migrations' ORDER BY name")
    parts = []
    for (name,) in tables:
        parts.append(collector.query(f"SHOW CREATE TABLE tenure.`{name}`")[0][0].strip() + ";")
    return "\n\n".join(parts) + "\n"


def test_migrations_are_numbered_and_applied(collector):
    migrations = load_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    applied = {r[0] for r in collector.query("SELECT version FROM tenure.schema_migrations")}
    assert applied == set(range(1, latest_version() + 1))


def test_schema_matches_committed_snapshot(collector):
    """Regenerate with TENURE_UPDATE_SNAPSHOT=1 when a new migration lands (and review the diff)."""
    import os

    current = _show_create(collector)
    if os.environ.get("TENURE_UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.write_text(current)
    assert current == SNAPSHOT.read_text()


def test_insert_columns_match_the_tables(collector):
    for table, columns in (("events", EVENT_COLUMNS), ("quarantine", QUARANTINE_COLUMNS)):
        rows = collector.query(f"SELECT name, type FROM system.columns WHERE database = 'tenure' AND table = '{table}' "
                               "AND default_kind NOT IN ('MATERIALIZED', 'ALIAS') ORDER BY position")
        assert [tuple(r) for r in rows] == list(columns), table


def test_migrate_command_is_idempotent(tmp_path):
    import subprocess
    import sys

    store = f"chdb://{tmp_path / 'store'}"
    first = subprocess.run([sys.executable, "-m", "tenure.collector", "migrate", "--store", store], capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"applied migrations {list(range(1, latest_version() + 1))}"
    second = subprocess.run([sys.executable, "-m", "tenure.collector", "migrate", "--store", store], capture_output=True, text=True, timeout=120)
    assert second.stdout.strip() == "schema is up to date"
