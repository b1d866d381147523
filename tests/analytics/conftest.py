"""One chDB store per test process (chDB allows one data path per process); tests isolate by project."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timezone

import clickhouse_connect
import pytest

from tenure.schema.migrate import apply_migrations

_COLUMNS = ["project", "message_id", "type", "event", "sent_event", "user_id", "anonymous_id",
            "previous_id", "timestamp", "received_at", "properties", "traits", "revenue"]
_TYPES = ["LowCardinality(String)", "String", "LowCardinality(String)", "LowCardinality(String)",
          "LowCardinality(String)", "String", "String", "String", "DateTime64(3, 'UTC')",
          "DateTime64(3, 'UTC')", "JSON", "JSON", "Nullable(Decimal(18, 4))"]
_ids = itertools.count()


@pytest.fixture(scope="session")
def ch(tmp_path_factory):
    path = tmp_path_factory.mktemp("analytics-chdb")
    client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
    apply_migrations(client)
    yield client
    client.close()


_projects = itertools.count()


@pytest.fixture
def project(request):
    return f"t{next(_projects)}_{request.node.name[:40]}"


def ts(text: str) -> datetime:
    """'2020-06-10 13:00' (UTC) or an ISO string with offset -> naive UTC datetime."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def ev(when: str, user: str = "", anon: str = "", event: str = "click", *, type: str = "track",
       props: dict | None = None, traits: dict | None = None, revenue=None, message_id: str | None = None,
       previous_id: str = "") -> dict:
    return {"when": when, "user": user, "anon": anon, "event": event, "type": type, "props": props or {},
            "traits": traits or {}, "revenue": revenue, "message_id": message_id or f"m{next(_ids)}",
            "previous_id": previous_id}


def identify(when: str, user: str, anon: str = "", traits: dict | None = None, **kw) -> dict:
    return ev(when, user, anon, "", type="identify", traits=traits, **kw)


def alias(when: str, user: str, previous: str, **kw) -> dict:
    return ev(when, user, "", "", type="alias", previous_id=previous, **kw)


def insert(client, project: str, events: list[dict]) -> None:
    rows = []
    for e in events:
        t = ts(e["when"])
        event = e["event"] if e["type"] == "track" else (e["type"] if e["type"] in ("page", "screen") else "")
        rows.append([project, e["message_id"], e["type"], event, event, e["user"], e["anon"], e["previous_id"],
                     t, t, json.dumps(e["props"]), json.dumps(e["traits"]),
                     None if e["revenue"] is None else str(e["revenue"])])
    client.insert("tenure.events", rows, column_names=_COLUMNS, column_type_names=_TYPES)
