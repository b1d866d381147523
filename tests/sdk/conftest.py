"""Helpers for the SDK tests; the collector fixtures themselves come from tests/conftest.py."""

from __future__ import annotations

import time
import uuid

import pytest


@pytest.fixture
def uid() -> str:
    """A user id prefix no other test uses, so tests sharing the session collector stay apart."""
    return f"sdk-{uuid.uuid4().hex[:12]}"


def landed(collector, uid: str, expected: int, timeout: float = 20.0) -> int:
    """Wait until `expected` distinct events of users `uid*` are stored; returns the count seen."""
    sql = (f"SELECT count(DISTINCT message_id) FROM tenure.events "
           f"WHERE project = '{collector.project}' AND startsWith(user_id, '{uid}')")
    rows = collector.wait_for(sql, [[expected]], timeout=timeout)
    return rows[0][0]


def stored_rows(collector, uid: str) -> int:
    """Rows as stored after dedupe (FINAL): equal to the distinct count when nothing is doubled."""
    return collector.query(
        f"SELECT count() FROM tenure.events FINAL WHERE project = '{collector.project}' "
        f"AND startsWith(user_id, '{uid}')")[0][0]


def wait_until(predicate, timeout: float = 10.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
