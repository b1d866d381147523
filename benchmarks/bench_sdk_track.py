"""What one `track()` costs the app's thread, and how fast a tracker delivers to a local collector.

    /tmp/v/bin/python benchmarks/bench_sdk_track.py            # starts its own collector (chDB)
    /tmp/v/bin/python benchmarks/bench_sdk_track.py --url http://127.0.0.1:8080 --key KEY

Measured in the same run, same process, same event (a track with user id and 3 properties):
  baseline   a `msgspec.json.encode(dict)` + `queue.SimpleQueue.put` loop: the floor of any SDK
  tenure     Tracker(send=False).track: build, encode once, validate with the collector's Structs
  tenure*    Tracker with a live sender to the collector: the cost the caller sees while batches
             are POSTed in the background (same thread budget, GIL shared with the sender)
  segment    segment-analytics-python's Client(send=False).track, if installed
Then delivery: N events tracked as fast as possible, timed until the collector answered 200 for
all of them (`flush()` returned and stats.sent == N), i.e. SDK-side throughput into the
collector's write-ahead log. Not a test: numbers vary with the machine.
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from tenure.sdk import Tracker

PROPS = {"plan": "pro", "seats": 5, "trial": False}


def per_call_us(fn, n: int) -> float:
    fn(0)  # warm up caches and lazy starts
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for i in range(n):
            fn(i)
        best = min(best, (time.perf_counter() - start) / n * 1e6)
    return best


def baseline(n: int) -> float:
    q: queue.SimpleQueue = queue.SimpleQueue()
    enc = msgspec.json.encode

    def call(i):
        q.put(enc({"type": "track", "event": "Seat Added", "userId": "user-1", "properties": PROPS}))

    return per_call_us(call, n)


def tenure_send_false(n: int) -> float:
    t = Tracker("k", send=False)
    return per_call_us(lambda i: t.track("Seat Added", user_id="user-1", properties=PROPS), n)


def segment_send_false(n: int) -> float | None:
    try:
        from segment.analytics import Client
    except ImportError:
        return None
    c = Client("k", send=False, max_queue_size=10 * n + 10)
    try:
        return per_call_us(lambda i: c.track("user-1", "Seat Added", PROPS), n)
    finally:
        c.shutdown()


def live(url: str, key: str, n: int) -> tuple[float, float]:
    t = Tracker(key, url, max_queue_size=n * 4 + 10, max_queue_bytes=512 * 1024 * 1024,
                flush_at=500)
    try:
        us = per_call_us(lambda i: t.track("Seat Added", user_id=f"bench-{i % 1000}", properties=PROPS), n)
        t.flush(120)
        sent_before = t.stats.sent
        start = time.perf_counter()
        for i in range(n):
            t.track("Delivered", user_id=f"bench-{i % 1000}", properties=PROPS)
        ok = t.flush(300)
        elapsed = time.perf_counter() - start
        assert ok and t.stats.sent - sent_before == n, t.stats
        return us, n / elapsed
    finally:
        t.shutdown(30)


def start_collector():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from conftest import CollectorProcess  # the same launcher the tests use

    proc = CollectorProcess(Path(tempfile.mkdtemp(prefix="bench-collector-"))).start()
    return proc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url")
    ap.add_argument("--key")
    ap.add_argument("-n", type=int, default=100_000, help="calls per measurement")
    ap.add_argument("--deliver", type=int, default=100_000, help="events for the delivery rate")
    args = ap.parse_args()

    base = baseline(args.n)
    ours = tenure_send_false(args.n)
    seg = segment_send_false(min(args.n, 50_000))
    print(f"python {sys.version.split()[0]}, msgspec {msgspec.__version__}, {os.cpu_count()} CPUs")
    print(f"{'baseline encode+put':32s} {base:7.2f} us/call")
    print(f"{'tenure track (send=False)':32s} {ours:7.2f} us/call   {ours / base:5.1f}x baseline")
    if seg is not None:
        print(f"{'segment track (send=False)':32s} {seg:7.2f} us/call   {seg / base:5.1f}x baseline"
              f"   tenure is {seg / ours:.1f}x cheaper")

    proc = None
    url, key = args.url, args.key
    if url is None:
        proc = start_collector()
        url, key = proc.url, proc.write_key
    try:
        us, rate = live(url, key, args.deliver)
        print(f"{'tenure track (live sender)':32s} {us:7.2f} us/call   {us / base:5.1f}x baseline")
        print(f"{'delivery to local collector':32s} {rate:9,.0f} events/s ({args.deliver:,} events,"
              f" batches of 500, gzip)")
    finally:
        if proc is not None:
            proc.stop()


if __name__ == "__main__":
    main()
