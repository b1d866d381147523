"""Drains sealed write-ahead-log segments into ClickHouse, in order, in large columnar blocks.

One thread, one segment at a time: a segment's rows go to `events` and `quarantine` in chunks of
`insert_block_rows`, each with the token `<segment name>-<table>-<chunk>`. A segment's chunking depends
only on its rows, so a retry or a replay after a crash repeats the same tokens and ClickHouse keeps
one copy. Store failures are retried with exponential backoff and full jitter (tenacity), for as
long as it takes; meanwhile the backlog grows and the ingest routes answer 503 past its bound.
Only once every chunk is stored is the segment file deleted.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from typing import Callable

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
        if self._thread.is_alive():
            self._abort.set()
            self._thread.join(5)
            return False
        return True

    def _run(self) -> None:
        while True:
            segment = self._queue.get()
            if segment is None:
                return
            try:
                for attempt in Retrying(
                    wait=wait_exponential_jitter(initial=self.settings.retry_initial_s, max=self.settings.retry_max_s),
                    retry=retry_if_exception_type(StoreError),
                    stop=stop_when_event_set(self._abort),
                    sleep=self._abort.wait,
                    reraise=True,
                ):
                    with attempt:
                        self._store(segment)
            except StoreError as exc:
                log.warning("segment %s left for replay: %s", segment.name, exc)
                return
            except Exception:  # a bug, not an outage: keep the file for replay and stop loudly
                log.exception("writer stopped on segment %s; it stays on disk for replay", segment.name)
                return
            if self.store.faults.crash_after_insert:
                os._exit(137)  # test fault: die like kill -9 before the segment file is deleted
            segment.path.unlink(missing_ok=True)
            self.on_stored(segment.rows)

    def _store(self, segment: Segment) -> None:
        started = time.perf_counter()
        try:
            block = self.settings.insert_block_rows
            for table, columns, rows in (("tenure.events", EVENT_COLUMNS, segment.events),
                                         ("tenure.quarantine", QUARANTINE_COLUMNS, segment.quarantine)):
                for i in range(0, len(rows), block):
                    self.store.insert(table, columns, rows[i:i + block], token=f"{segment.name}-{table}-{i // block}")
        except StoreError as exc:
            self.last_error = str(exc)
            self.metrics.insert_failures.inc()
            log.warning("insert of segment %s failed, will retry: %s", segment.name, exc)
            raise
        self.last_error = None
        self.metrics.inserted_rows.inc(segment.rows)
        self.metrics.insert_seconds.observe(time.perf_counter() - started)
