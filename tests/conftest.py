"""Shared fixtures: the real collector as a subprocess on 127.0.0.1 with an embedded chDB store.

A subprocess because chDB allows one engine per process and locks its directory, and because the
crash tests need to `kill -9` it. Tests talk to it over real sockets; queries go through its
read-only `/v1/query` route, as an analyst's would.
"""

from __future__ import annotations

import base64
import gzip as gzip_module
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

WRITE_KEY = "wk_test_0123456789"
ADMIN_KEY = "ak_test_0123456789"
PROJECT = "test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Response:
    def __init__(self, status: int, body: bytes, headers) -> None:
        self.status = status
        self.body = body
        self.headers = headers

    def json(self):
        return json.loads(self.body)


class CollectorProcess:
    """One `tenure serve` process. `start()` waits until `/readyz` answers 200."""

    def __init__(self, data_dir: Path, *, port: int | None = None, write_keys: str | None = None,
                 admin_key: str = ADMIN_KEY, extra_args: tuple[str, ...] = (), env: dict | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.write_key = WRITE_KEY
        self.admin_key = admin_key
        self.project = PROJECT
        self.write_keys = write_keys or f"{PROJECT}:{WRITE_KEY}"
        self.extra_args = extra_args
        self.env = env or {}
        self.proc: subprocess.Popen | None = None
        self.log_path = self.data_dir / "collector.log"

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> "CollectorProcess":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "TENURE_WRITE_KEYS": self.write_keys, "TENURE_ADMIN_KEY": self.admin_key,
               "TENURE_ENABLE_FAULTS": "1", **self.env}
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tenure.collector", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--data-dir", str(self.data_dir), *self.extra_args],
            env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"collector exited with {self.proc.returncode}:\n{self.log_path.read_text()}")
            try:
                if self.get("/readyz").status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"collector not ready in {timeout}s:\n{self.log_path.read_text()}")

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM: stop accepting, drain, exit. Returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        """kill -9: no drain, no cleanup."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
            self._log.close()

    # -- HTTP ----------------------------------------------------------------------------------
    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                timeout: float = 30.0) -> Response:
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return Response(resp.status, resp.read(), resp.headers)
        except urllib.error.HTTPError as exc:
            return Response(exc.code, exc.read(), exc.headers)

    def get(self, path: str, **kw) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, payload, *, key: str | None = "default", gzip: bool = False,
             headers: dict | None = None) -> Response:
        """POST a JSON payload (dict/list, or bytes as-is) with the write key as Basic auth user."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if key is not None:
            user = self.write_key if key == "default" else key
            all_headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:".encode()).decode()
        if gzip:
            body = gzip_module.compress(body)
            all_headers["Content-Encoding"] = "gzip"
        return self.request("POST", path, body, all_headers)

    def admin(self, path: str, payload) -> Response:
        return self.request("POST", path, json.dumps(payload).encode(),
                            {"Authorization": f"Bearer {self.admin_key}", "Content-Type": "application/json"})

    def query(self, sql: str) -> list[list]:
        resp = self.admin("/v1/query", {"sql": sql})
        if resp.status != 200:
            raise AssertionError(f"query failed ({resp.status}): {resp.body.decode()}")
        return resp.json()["rows"]

    def wait_for(self, sql: str, expected, timeout: float = 15.0) -> list[list]:
        """Poll `sql` until it returns `expected` (the rows); the last rows on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.query(sql)
            if rows == expected or time.monotonic() > deadline:
                return rows
            time.sleep(0.1)

    def faults(self, **switches) -> dict:
        resp = self.admin("/v1/admin/faults", switches)
        assert resp.status == 200, resp.body
        return resp.json()


@pytest.fixture(scope="session")
def collector(tmp_path_factory) -> CollectorProcess:
    """One collector for the session; tests isolate themselves by unique message ids / user ids."""
    proc = CollectorProcess(tmp_path_factory.mktemp("collector")).start()
    yield proc
    proc.stop()


@pytest.fixture
def collector_factory(tmp_path):
    """Start extra collectors (for restarts and crashes); all are stopped at the end of the test."""
    started: list[CollectorProcess] = []

    def make(data_dir: Path | None = None, **kw) -> CollectorProcess:
        proc = CollectorProcess(data_dir or tmp_path / f"collector{len(started)}", **kw)
        started.append(proc)
        return proc

    yield make
    for proc in started:
        proc.kill()
