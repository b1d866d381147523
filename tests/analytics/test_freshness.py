"""Freshness: an event acknowledged by the collector (HTTP 200) shows in retention and lifecycle
within 2 seconds. Uses the session collector; a random day in 1999 keeps other tests' events out."""

from __future__ import annotations

import random
import time
import urllib.parse
import uuid
from datetime import date, timedelta

LIMIT_S = 2.0


def _insight(collector, metric: str, **params):
    url = f"/v1/insights/{metric}?" + urllib.parse.urlencode({"project": collector.project, **params})
    resp = collector.request("GET", url, headers={"Authorization": f"Bearer {collector.admin_key}"})
    assert resp.status == 200, resp.body
    return resp.json()


def test_event_shows_in_retention_and_lifecycle_within_2s(collector):
    day = date(1999, 1, 1) + timedelta(days=random.randrange(360))
    user = f"fresh-{uuid.uuid4()}"
    before_ret = _insight(collector, "retention", date_to=day.isoformat(), intervals=1)["cohorts"][0]["size"]
    before_new = _insight(collector, "lifecycle", date_from=day.isoformat(), date_to=day.isoformat())["new"][0]
    resp = collector.post("/v1/batch", {"batch": [{"type": "track", "event": "fresh", "userId": user,
                                                   "messageId": str(uuid.uuid4()),
                                                   "timestamp": f"{day.isoformat()}T12:00:00Z"}]})
    assert resp.status == 200, resp.body
    acked = time.monotonic()
    seen = {}
    while len(seen) < 2 and time.monotonic() - acked < 10:
        if "retention" not in seen and _insight(
                collector, "retention", date_to=day.isoformat(), intervals=1)["cohorts"][0]["size"] == before_ret + 1:
            seen["retention"] = time.monotonic() - acked
        if "lifecycle" not in seen and _insight(
                collector, "lifecycle", date_from=day.isoformat(), date_to=day.isoformat())["new"][0] == before_new + 1:
            seen["lifecycle"] = time.monotonic() - acked
        time.sleep(0.02)
    print(f"freshness: {seen}")
    assert set(seen) == {"retention", "lifecycle"}, seen
    assert max(seen.values()) < LIMIT_S, seen
