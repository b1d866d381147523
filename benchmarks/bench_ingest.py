"""Collector ingest throughput: events/s acknowledged (fsync'd) and stored, against a baseline measured
in the same run: the same rows inserted straight into chDB with clickhouse-connect, columnar, in
one process (no HTTP, no validation, no log) — the ceiling the collector's pipeline works under.

    .venv/bin/python benchmarks/bench_ingest.py --events 400000 --batch 500 --concurrency 8

Not a test: numbers vary with the machine; the ratio is what to compare between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))


def make_bodies(total: int, batch: int) -> list[bytes]:
    run = uuid.uuid4().hex[:8]
    bodies = []
    events = ["page_view", "button_press", "search", "settings_open", "add_to_cart"]
    for b in range(0, total, batch):
        msgs = []
        for i in range(b, min(total, b + batch)):
            msgs.append({
                "type": "track", "event": events[i % 5], "userId": f"user-{i % 50_000}",
                "messageId": f"{run}-{i}", "timestamp": "2026-11-01T12:00:00.000Z",
                "properties": {"path": f"/p/{i % 100}", "n": i % 7, "ref": "newsletter"},
                "context": {"library": {"name": "bench", "version": "1.0"}, "locale": "en-US"},
            })
        bodies.append(json.dumps({"batch": msgs, "sentAt": "2026-11-01T12:00:01.000Z"}).encode())
    return bodies


async def blast(url: str, key: str, bodies: list[bytes], concurrency: int) -> float:
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            while True:
                async with session.post(url + "/v1/batch", data=body, headers={"Authorization": auth, "Content-Type": "application/json"}) as resp:
                    await resp.read()
                    if resp.status == 200:
                        break
                    await asyncio.sleep(float(resp.headers.get("Retry-After", "0.2")))

    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return time.perf_counter() - started


def baseline_direct_insert(total: int) -> float:
    """The same number of events-table rows inserted directly, columnar, in blocks of 50k."""
    code = f"""
import time, clickhouse_connect, tempfile, sys
sys.path.insert(0, {str(HERE.parent)!r})
from tenure.schema.migrate import apply_migrations
from tenure.collector.ingest import EVENT_COLUMNS
c = clickhouse_connect.get_client(dsn="chdb://" + tempfile.mkdtemp())
apply_migrations(c)
now = int(time.time() * 1000)
rows = [("bench", f"m{{i}}", "track", "click", "click", "", f"user-{{i % 50000}}", "", "", "", now, now, now, now, False,
         '{{"path":"/p/1","n":3,"ref":"newsletter"}}', "{{}}", '{{"library":{{"name":"bench","version":"1.0"}},"locale":"en-US"}}', "{{}}", None, "", "")
        for i in range({total})]
t = time.perf_counter()
for i in range(0, len(rows), 50000):
    c.insert("tenure.events", list(zip(*rows[i:i+50000])), column_names=[n for n, _ in EVENT_COLUMNS],
             column_type_names=[k for _, k in EVENT_COLUMNS], column_oriented=True)
print(time.perf_counter() - t)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=400_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    from conftest import CollectorProcess  # the same launcher the tests use

    print(f"generating {args.events:,} events in batches of {args.batch} ...", flush=True)
    bodies = make_bodies(args.events, args.batch)
    direct_s = baseline_direct_insert(args.events)

    proc = CollectorProcess(Path(tempfile.mkdtemp()) / "bench").start()
    try:
        acked_s = asyncio.run(blast(proc.url, proc.write_key, bodies, args.concurrency))
        started = time.perf_counter()
        while proc.query("SELECT count() FROM tenure.events")[0][0] < args.events:
            time.sleep(0.05)
        stored_s = acked_s + (time.perf_counter() - started)
    finally:
        proc.stop()

    acked_rate, stored_rate, direct_rate = args.events / acked_s, args.events / stored_s, args.events / direct_s
    print(f"baseline: direct columnar insert into chDB   {direct_rate:>10,.0f} events/s")
    print(f"collector: acknowledged (fsync'd WAL)        {acked_rate:>10,.0f} events/s  ({acked_rate / direct_rate:.2f}x baseline)")
    print(f"collector: stored in ClickHouse (end to end) {stored_rate:>10,.0f} events/s  ({stored_rate / direct_rate:.2f}x baseline)")
    print(f"cores: {os.cpu_count()}; load generator shares them")


if __name__ == "__main__":
    main()
