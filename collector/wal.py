"""The write-ahead log: a 200 means the accepted messages are fsync'd here.

Group commit: request handlers hand their encoded rows to `append()` and await a future; one thread
writes everything pending, calls `fdatasync` once, and resolves all those futures. Under load one
sync covers many requests, so durability costs one disk flush per round, not per request.

Segments: rows are appended to the open segment file (`<seq>-<random>.wal`). When it reaches
`segment_max_rows` or `segment_max_age_s` it is sealed and handed, with its rows still in memory, to
the writer. The writer deletes the file once its rows are in ClickHouse. At start-up every segment
file left on disk is unstored (the process died before the writer finished) and is replayed.

Each segment is inserted in fixed-size chunks with a token derived from its unique name, so the
insert of a replayed segment repeats the same blocks with the same `insert_deduplication_token`
and ClickHouse drops what it already has: replay never duplicates.

Record frame: `[u32 length][u32 crc32][msgpack payload]`; the payload is `[events_rows, quarantine_rows]`.
A torn last record (crash mid-write; never acknowledged) fails its length or CRC and is cut off.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import msgspec

from .config import WalSettings

log = logging.getLogger("tenure.collector.wal")

_HEADER = struct.Struct("<II")
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(tuple[list[list], list[list]])


@dataclass
class Segment:
    """A sealed segment: its file and its rows, in the order they were acknowledged."""

    path: Path
    events: list[tuple | list] = field(default_factory=list)
    quarantine: list[tuple | list] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def rows(self) -> int:
        return len(self.events) + len(self.quarantine)


@dataclass
class _Pending:
    payload: bytes
    events: list
    quarantine: list
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop


def encode_record(events: list, quarantine: list) -> bytes:
    payload = _encoder.encode((events, quarantine))
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def read_segment(path: Path) -> Segment:
    """Decode a segment file, truncating a torn tail."""
    data = path.read_bytes()
    segment = Segment(path)
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, crc = _HEADER.unpack_from(data, offset)
        start, end = offset + _HEADER.size, offset + _HEADER.size + length
        if end > len(data) or zlib.crc32(data[start:end]) != crc:
            break
        events, quarantine = _decoder.decode(data[start:end])
        segment.events.extend(events)
        segment.quarantine.extend(quarantine)
        offset = end
    if offset != len(data):
        log.warning("wal segment %s: cut a torn tail of %d bytes (never acknowledged)", path.name, len(data) - offset)
        with open(path, "r+b") as fh:
            fh.truncate(offset)
            os.fsync(fh.fileno())
    return segment


class WriteAheadLog:
    """Owns the segment directory and the group-commit thread. `on_sealed` receives each sealed
    segment (called on the log thread; it must only enqueue)."""

    def __init__(self, directory: Path, settings: WalSettings, on_sealed: Callable[[Segment], None]) -> None:
        self.directory = directory
        self.settings = settings
        self.on_sealed = on_sealed
        self._cond = threading.Condition()
        self._pending: list[_Pending] = []
        self._closing = False
        self._thread: threading.Thread | None = None
        self._current: Segment | None = None
        self._file = None
        self._opened_at = 0.0
        self._seq = 0
        self.backlog_rows = 0  # acknowledged or pending, not yet stored; guarded by _cond

    # -- start-up ------------------------------------------------------------------------------
    def recover(self) -> list[Segment]:
        """Segments left by an earlier process, oldest first: all of them still need storing."""
        self.directory.mkdir(parents=True, exist_ok=True)
        found = sorted(self.directory.glob("*.wal"))
        segments = [read_segment(p) for p in found]
        if found:
            self._seq = int(found[-1].name.split("-", 1)[0])
        with self._cond:
            self.backlog_rows += sum(s.rows for s in segments)
        return segments

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="tenure-wal", daemon=True)
        self._thread.start()

    # -- the request side ----------------------------------------------------------------------
    def over_backlog(self) -> bool:
        return self.backlog_rows >= self.settings.max_backlog_rows

    async def append(self, events: list, quarantine: list) -> None:
        """Returns once the rows are on disk (fsync'd)."""
        if not events and not quarantine:
            return
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        item = _Pending(encode_record(events, quarantine), events, quarantine, future, loop)
        with self._cond:
            if self._closing:
                raise RuntimeError("write-ahead log is closed")
            self._pending.append(item)
            self.backlog_rows += len(events) + len(quarantine)
            self._cond.notify()
        await future

    def stored(self, rows: int) -> None:
        """The writer reports rows that reached the store."""
        with self._cond:
            self.backlog_rows -= rows

    # -- the log thread ------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing and not self._seal_due():
                    self._cond.wait(timeout=self._wait_time())
                batch, self._pending = self._pending, []
                closing = self._closing
            if batch:
                self._write(batch)
            if self._current is not None and (closing or self._seal_due()):
                self._seal()
            if closing and not batch:
                with self._cond:
                    if not self._pending:
                        return

    def _wait_time(self) -> float | None:
        if self._current is None:
            return None
        return max(0.0, self._opened_at + self.settings.segment_max_age_s - time.monotonic())

    def _seal_due(self) -> bool:
        current = self._current
        if current is None:
            return False
        return (current.rows >= self.settings.segment_max_rows
                or time.monotonic() - self._opened_at >= self.settings.segment_max_age_s)

    def _open_segment(self) -> None:
        self._seq += 1
        path = self.directory / f"{self._seq:012d}-{secrets.token_hex(6)}.wal"
        self._file = open(path, "ab", buffering=0)
        if self.settings.fsync:  # make the new directory entry durable too
            dir_fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        self._current = Segment(path)
        self._opened_at = time.monotonic()

    def _write(self, batch: list[_Pending]) -> None:
        offset = None
        try:
            if self._current is None:
                self._open_segment()
            offset = self._file.tell()
            self._file.write(b"".join(item.payload for item in batch))
            if self.settings.fsync:
                os.fdatasync(self._file.fileno())
        except OSError as exc:
            log.error("wal write failed: %s", exc)
            self._abandon_tail(offset)
            with self._cond:
                self.backlog_rows -= sum(len(i.events) + len(i.quarantine) for i in batch)
            for item in batch:
                item.loop.call_soon_threadsafe(_fail, item.future, exc)
            return
        for item in batch:
            self._current.events.extend(item.events)
            self._current.quarantine.extend(item.quarantine)
            item.loop.call_soon_threadsafe(_succeed, item.future)
        if self._current.rows >= self.settings.segment_max_rows:
            self._seal()

    def _abandon_tail(self, offset: int | None) -> None:
        """After a failed write: cut what may have been half written and close the segment, so no
        acknowledged record is ever appended behind a torn one (replay stops at the first)."""
        if self._file is None:
            return
        try:
            if offset is not None:
                os.ftruncate(self._file.fileno(), offset)
        except OSError as exc:
            log.error("wal truncate failed: %s", exc)
        self._seal()

    def _seal(self) -> None:
        segment, self._current = self._current, None
        self._file.close()
        self._file = None
        self.on_sealed(segment)

    # -- shutdown ------------------------------------------------------------------------------
    def close(self, timeout: float = 10.0) -> None:
        """Stop taking appends, write what is pending, seal the open segment."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)


def _succeed(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


def _fail(future: asyncio.Future, exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
