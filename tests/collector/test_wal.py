"""The write-ahead log on its own: torn tails are cut, a failed write never strands later records."""

from __future__ import annotations

import asyncio
import os

from tenure.collector.config import WalSettings
from tenure.collector.wal import WriteAheadLog, encode_record, read_segment


def test_torn_tail_is_cut_and_earlier_records_kept(tmp_path):
    path = tmp_path / "000000000001-aa.wal"
    good = encode_record([["p", "acked-1"]], [])
    path.write_bytes(good + encode_record([["p", "torn"]], [])[:-3])
    segment = read_segment(path)
    assert segment.events == [["p", "acked-1"]]
    assert path.read_bytes() == good


def test_a_failed_write_seals_the_segment_so_later_records_stay_readable(tmp_path):
    sealed = []
    wal = WriteAheadLog(tmp_path, WalSettings(segment_max_age_s=60), sealed.append)
    wal.recover()
    wal.start()

    async def scenario() -> None:
        await wal.append([["p", "first"]], [])
        real_fdatasync = os.fdatasync
        calls = {"n": 0}

        def failing(fd):
            calls["n"] += 1
            raise OSError(28, "No space left on device")

        os.fdatasync = failing
        try:
            try:
                await wal.append([["p", "lost"]], [])
                raise AssertionError("the append must fail")
            except OSError:
                pass
        finally:
            os.fdatasync = real_fdatasync
        await wal.append([["p", "second"]], [])

    asyncio.run(scenario())
    wal.close()
    replayed = [row[1] for path in sorted(tmp_path.glob("*.wal")) for row in read_segment(path).events]
    assert replayed == ["first", "second"]
    assert [row[1] for s in sealed for row in s.events] == ["first", "second"]
