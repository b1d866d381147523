"""Segment's own analytics-python, pointed at our collector: its events land."""

from __future__ import annotations

import pytest

from .conftest import landed

segment = pytest.importorskip("segment.analytics")


def test_segment_analytics_python_events_land(collector, uid):
    client = segment.Client(collector.write_key, host=collector.url, sync_mode=False, max_retries=2,
                            gzip=True)
    try:
        client.track(uid, "Segment Tracked", {"plan": "pro"})
        client.identify(uid, {"email": "a@example.com"})
        client.track(uid, "Order Completed", {"order_id": "s-1", "revenue": 9.5, "currency": "usd"})
        client.flush()
    finally:
        client.shutdown()
    assert landed(collector, uid, 3) == 3
    rows = collector.query(f"SELECT event, sent_event, order_id FROM tenure.events FINAL "
                           f"WHERE startsWith(user_id, '{uid}') AND type = 'track' ORDER BY event")
    assert rows == [["Segment Tracked", "Segment Tracked", ""], ["purchase", "Order Completed", "s-1"]]
