"""Test-only fault switches (enabled by `--enable-faults` / `TENURE_ENABLE_FAULTS=1`).

They let tests drive the real collector into the states clients must survive, a store outage and
429/503 answers, without a fake server. Set through `POST /v1/admin/faults` with the admin key.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Faults:
    store_down: bool = False  # every insert fails, as if ClickHouse were unreachable
    reject_status: int = 0  # ingest routes answer this status (429 or 503) ...
    reject_count: int = 0  # ... this many times
    retry_after: int = 1
    refuse_message_id: str = ""  # the store refuses any events block holding this message id (bad data)
    crash_after_insert: bool = False  # the process dies between storing a segment and deleting its file

    def take_rejection(self) -> int:
        """The status to answer with instead of ingesting, or 0."""
        if self.reject_status and self.reject_count > 0:
            self.reject_count -= 1
            return self.reject_status
        return 0
