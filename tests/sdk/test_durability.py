"""Never lose an accepted event: collector outages, process exit without flush, fork, the spool.

Processes that exit or fork run as real subprocesses (`python -c`), so atexit and fork behave as
they do in an app; the collector is the real one, stopped and restarted on the same port and data.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import msgspec

from tenure.sdk import Tracker

from .conftest import landed, stored_rows, wait_until


def run_script(code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr
    return out


def test_collector_down_for_a_while_then_back_every_event_once(collector_factory, uid, tmp_path):
    c = collector_factory(tmp_path / "collector").start()
    t = Tracker(c.write_key, c.url, flush_at=20, flush_interval=0.1, max_retry_time=60,
                initial_backoff=0.05, max_backoff=0.5)
    try:
        for i in range(100):
            t.track("Before", user_id=uid, properties={"i": i})
        assert t.flush(10)
        c.stop()  # SIGTERM: drains and exits; the SDK now sees connection refused
        for i in range(100):
            t.track("During", user_id=uid, properties={"i": i})
        time.sleep(1.5)
        assert t.stats.retries > 0 and t.stats.sent == 100
        c.start()
        for i in range(100):
            t.track("After", user_id=uid, properties={"i": i})
        assert t.flush(30)
        assert t.stats.sent == 300 and t.stats.failed == 0
    finally:
        t.shutdown(5)
    assert landed(c, uid, 300) == 300
    assert stored_rows(c, uid) == 300


def test_process_exiting_without_flush_delivers_everything(collector, uid):
    run_script(f"""
        from tenure.sdk import Tracker
        t = Tracker({collector.write_key!r}, {collector.url!r})
        for i in range(1000):
            t.track("Exiting", user_id={uid!r}, properties={{"i": i}})
        # no flush, no shutdown: the atexit hook must deliver all of it
    """)
    assert landed(collector, uid, 1000) == 1000
    assert stored_rows(collector, uid) == 1000


def test_forked_child_events_land_and_parent_events_land_once(collector, uid):
    out = run_script(f"""
        import os, sys
        from tenure.sdk import Tracker
        t = Tracker({collector.write_key!r}, {collector.url!r}, flush_interval=60)
        for i in range(5):
            t.track("Parent", user_id={uid!r} + "-parent", properties={{"i": i}})  # queued, unsent
        pid = os.fork()
        if pid == 0:
            for i in range(7):
                t.track("Child", user_id={uid!r} + "-child", properties={{"i": i}})
            print("child", t.stats.queued, flush=True)
            sys.exit(0)  # normal exit: the child's own atexit flush sends its 7
        _, status = os.waitpid(pid, 0)
        assert status == 0, status
        print("parent", t.stats.queued, flush=True)
    """)
    assert "child 7" in out.stdout and "parent 5" in out.stdout  # the child started empty
    assert landed(collector, f"{uid}-child", 7) == 7
    assert landed(collector, f"{uid}-parent", 5) == 5
    assert stored_rows(collector, uid) == 12


def test_spool_survives_a_restart_and_a_truncated_file(collector, uid, tmp_path, caplog):
    spool = tmp_path / "spool"
    # 1. A process whose collector is unreachable: its batches go to the spool, then it exits.
    run_script(f"""
        from tenure.sdk import Tracker
        t = Tracker("k", "http://127.0.0.1:9", spool_dir={str(spool)!r}, flush_at=10,
                    max_retry_time=0.2, flush_interval=0.05, exit_timeout=1)
        for i in range(30):
            t.track("Spooled", user_id={uid!r}, properties={{"i": i}})
    """)
    files = sorted(spool.glob("*.spool"))
    assert len(files) == 3
    expected = []
    for f in files:
        expected += [msgspec.json.decode(line)["messageId"] for line in f.read_bytes().splitlines()[:-1]]
    assert len(expected) == 30
    # 2. A disk problem cuts the last file in the middle of its 5th message.
    data = files[-1].read_bytes()
    cut = sum(len(line) + 1 for line in data.splitlines()[:4]) + 20
    files[-1].write_bytes(data[:cut])
    survivors = expected[:24]
    # 3. The app restarts: the new tracker resends the spool without waiting for a track() call.
    t = Tracker(collector.write_key, collector.url, spool_dir=str(spool))
    try:
        assert landed(collector, uid, 24) == 24
        assert wait_until(lambda: not list(spool.glob("*.spool")), timeout=5)
    finally:
        t.shutdown(5)
    rows = collector.query(f"SELECT message_id FROM tenure.events FINAL WHERE startsWith(user_id, '{uid}')")
    assert sorted(r[0] for r in rows) == sorted(survivors)
    assert "is damaged" in caplog.text
    assert len(list(spool.glob("*.corrupt"))) == 1


def test_full_queue_spills_to_spool_and_nothing_is_lost(collector_factory, uid, tmp_path):
    c = collector_factory(tmp_path / "collector")  # not started yet: the endpoint is down
    spool = tmp_path / "spool"
    t = Tracker(c.write_key, c.url, spool_dir=str(spool), max_queue_size=50, flush_at=25,
                flush_interval=0.1, max_retry_time=0.2)
    try:
        for i in range(400):
            t.track("Spilled", user_id=uid, properties={"i": i})
        assert t.stats.dropped == 0
        assert wait_until(lambda: t.stats.spooled + len(t._core.batcher) >= 400, timeout=10)
        c.start()
        assert landed(c, uid, 400, timeout=30) == 400
    finally:
        t.shutdown(5)
    assert stored_rows(c, uid) == 400


def test_shutdown_with_the_collector_down_spools_and_is_bounded(uid, tmp_path):
    spool = tmp_path / "spool"
    t = Tracker("k", "http://127.0.0.1:9", spool_dir=str(spool), max_retry_time=60)
    for i in range(10):
        t.track("Late", user_id=uid)
    start = time.monotonic()
    t.shutdown(timeout=0.5)
    assert time.monotonic() - start < 2.5
    assert t.stats.spooled == 10
    assert not any(th.name == "tenure-sdk-sender" and th.is_alive() for th in threading.enumerate()
                   if th is t._thread)
    lines = [l for f in spool.glob("*.spool") for l in f.read_bytes().splitlines() if not l.startswith(b"#")]
    assert len(lines) == 10


def test_multiprocessing_child_events_land(collector, uid):
    # multiprocessing ends its children with os._exit(): no atexit, so this needs its own hook
    run_script(f"""
        import multiprocessing as mp
        from tenure.sdk import Tracker
        t = Tracker({collector.write_key!r}, {collector.url!r}, flush_interval=60)

        def work(n):
            for i in range(n):
                t.track("Worker", user_id={uid!r}, properties={{"i": i}})

        if __name__ == "__main__":
            p = mp.get_context("fork").Process(target=work, args=(9,))
            p.start(); p.join()
            assert p.exitcode == 0
    """)
    assert landed(collector, uid, 9) == 9
