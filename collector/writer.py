"""Drains sealed write-ahead-log segments into ClickHouse, in order, in large columnar blocks.

One segment at a time, so segments are stored in the order they were acknowledged. A segment's
rows go to `events` and `quarantine` in row ranges inserted side by side on `insert_lanes` lanes
(at most `insert_block_rows` each), each with the token `<segment>-<table>-<lo>-<hi>`. The ranges
depend only on the row count, so a retry or a replay after a crash repeats the same tokens and ClickHouse keeps
one copy. Store failures are retried with exponential backoff and full jitter (tenacity), for as
long as it takes; meanwhile the backlog grows and the ingest routes answer 503 past its bound.
Only once every chunk is stored is the segment file deleted. A chunk the store refuses while it
is healthy (data it cannot hold) is halved until the refused rows are found; they go to quarantine
with the store's reason and the rest is stored.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Callable

import msgspec
from tenacity import Retrying, retry_if_exception_type, stop_when_event_set, wait_exponential_jitter

from .config import WriterSettings
from .errors import StoreError
from .ingest import EVENT_COLUMNS, QUARANTINE_COLUMNS
from .metrics import Metrics
from .store import Store
from .wal import Segment

log = logging.getLogger("tenure.collector.writer")


class Writer:
    def __init__(self, store: Store, settings: WriterSettings, on_stored: Callable[[int], None], metrics: Metrics) -> None:
        self.store = store
        self.settings = settings
        self.on_stored = on_stored
        self.metrics = metrics
        self._queue: queue.Queue[Segment | None] = queue.Queue()
        self._abort = threading.Event()  # stop retrying: shutting down with the store failing
        self._thread = threading.Thread(target=self._run, name="tenure-writer", daemon=True)
        self._lanes = ThreadPoolExecutor(max_workers=max(1, settings.insert_lanes), thread_name_prefix="tenure-insert")
        self.last_error: str | None = None

    def submit(self, segment: Segment) -> None:
        self._queue.put(segment)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float) -> bool:
        """Store what is queued (the log is already closed), waiting at most `timeout` seconds.
        Returns False if segments were left on disk for the next start to replay."""
        self._queue.put(None)
        self._thread.join(timeout)
        drained = not self._thread.is_alive()
        if not drained:
            self._abort.set()
            self._thread.join(5)
        self._lanes.shutdown(wait=True, cancel_futures=True)
        return drained

    def _run(self) -> None:
        while True:
            segment = self._queue.get()
            if segment is None:
                return
            try:
                for attempt in Retrying(
                    wait=wait_exponential_jitter(initial=self.settings.retry_initial_s, max=self.settings.retry_max_s),
                    retry=retry_if_exception_type(Exception),
                    stop=stop_when_event_set(self._abort),
                    sleep=self._abort.wait,
                    reraise=True,
                ):
                    with attempt:
                        self._store(segment)
            except Exception as exc:  # only when aborted at shutdown: the file stays for replay
                log.warning("segment %s left for replay: %s", segment.name, exc)
                return
            if self.store.faults.crash_after_insert:
                os._exit(137)  # test fault: die like kill -9 before the segment file is deleted
            segment.path.unlink(missing_ok=True)
            self.on_stored(segment.rows)

    def _store(self, segment: Segment) -> None:
        started = time.perf_counter()
        try:
            refused: list[tuple] = []
            for table, columns, rows in (("tenure.events", EVENT_COLUMNS, segment.events),
                                         ("tenure.quarantine", QUARANTINE_COLUMNS, segment.quarantine)):
                ranges = self._ranges(len(rows))
                if len(ranges) == 1:
                    self._insert_range(segment.name, table, columns, rows, *ranges[0], refused, 0)
                    continue
                futures = [self._lanes.submit(self._insert_range, segment.name, table, columns, rows, lo, hi, refused, lane)
                           for lane, (lo, hi) in enumerate(ranges)]
                wait(futures)  # every lane finishes before a retry can start the same ranges again
                for future in futures:
                    future.result()  # re-raises the first failure; the segment is retried whole
            if refused:
                self.store.insert("tenure.quarantine", QUARANTINE_COLUMNS, refused, token=f"{segment.name}-refused")
        except Exception as exc:
            self.last_error = str(exc)
            self.metrics.insert_failures.inc()
            if not isinstance(exc, StoreError):
                log.exception("writer error on segment %s, will retry", segment.name)
            else:
                log.warning("insert of segment %s failed, will retry: %s", segment.name, exc)
            raise
        self.last_error = None
        self.metrics.inserted_rows.inc(segment.rows)
        self.metrics.insert_seconds.observe(time.perf_counter() - started)

    def _ranges(self, n: int) -> list[tuple[int, int]]:
        """Row ranges of one table's rows: a function of the row count and the settings only, so a
        replay cuts the same ranges and repeats the same tokens."""
        if n == 0:
            return []
        s = self.settings
        parts = max(1, min(s.insert_lanes, n // max(1, s.lane_min_rows)))
        parts = max(parts, -(-n // s.insert_block_rows))
        step = -(-n // parts)
        return [(lo, min(lo + step, n)) for lo in range(0, n, step)]

    def _insert_range(self, segment: str, table: str, columns, rows, lo: int, hi: int, refused: list,
                      lane: int = 0) -> None:
        """Insert rows[lo:hi]. When the store refuses it while it is healthy, the data is at fault:
        halve the range until the refused rows are alone and move them to quarantine, so one bad
        row never holds back the rows behind it. Tokens name the row range, and the halving depends
        only on the rows, so a replay repeats the same inserts and ClickHouse drops the copies."""
        try:
            self.store.insert(table, columns, rows[lo:hi], token=f"{segment}-{table}-{lo}-{hi}", lane=lane)
            return
        except StoreError as exc:
            if not self.store.healthy():
                raise  # an outage: retry the segment later
            if hi - lo == 1:
                log.error("the store refused a row; it goes to quarantine", extra={"table": table, "error": str(exc)})
                refused.append(refused_row(columns, rows[lo], str(exc)))
                return
        mid = (lo + hi) // 2
        self._insert_range(segment, table, columns, rows, lo, mid, refused, lane)
        self._insert_range(segment, table, columns, rows, mid, hi, refused, lane)


_row_encoder = msgspec.json.Encoder(decimal_format="number")


def refused_row(columns, row, error: str) -> tuple:
    """A quarantine row for a row the store refused: the row itself as JSON, and the store's reason."""
    record = dict(zip((name for name, _ in columns), row))
    return (record.get("project", ""), record.get("received_at", 0), record.get("message_id", ""),
            record.get("type", ""), _row_encoder.encode(record).decode(), "$", f"refused by the store: {error}")
