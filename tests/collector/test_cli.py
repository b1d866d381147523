"""The `tenure` command: the first start creates keys, `query` goes through a running collector."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request


def test_first_start_creates_and_keeps_keys(collector_factory, tmp_path):
    proc = collector_factory(tmp_path / "fresh")
    env = {k: v for k, v in os.environ.items() if k not in ("TENURE_WRITE_KEYS", "TENURE_ADMIN_KEY")}
    out = tmp_path / "serve.out"
    with open(out, "wb") as fh:
        child = subprocess.Popen([sys.executable, "-m", "tenure.collector", "serve", "--port", str(proc.port),
                                  "--data-dir", str(proc.data_dir)], env=env, stdout=fh, stderr=subprocess.STDOUT)
    try:
        _wait_up(proc, child, out)
        keys = json.loads((proc.data_dir / "keys.json").read_text())
        assert oct((proc.data_dir / "keys.json").stat().st_mode & 0o777) == "0o600"
        write_key = keys["write_keys"]["default"]
        printed = out.read_text()
        assert write_key in printed and keys["admin_key"] in printed
        assert '"msg": "tenure collector started"' in printed and f"127.0.0.1:{proc.port}" in printed
        proc.write_key = write_key
        assert proc.post("/v1/batch", {"batch": [{"type": "track", "event": "x", "userId": "u"}]}).status == 200
    finally:
        child.terminate()
        child.wait(60)
    # the second start reuses the same keys and prints none
    with open(out, "wb") as fh:
        child = subprocess.Popen([sys.executable, "-m", "tenure.collector", "serve", "--port", str(proc.port),
                                  "--data-dir", str(proc.data_dir)], env=env, stdout=fh, stderr=subprocess.STDOUT)
    try:
        _wait_up(proc, child, out)
        assert proc.post("/v1/batch", {"batch": [{"type": "track", "event": "x", "userId": "u"}]}).status == 200
        assert write_key not in out.read_text()
    finally:
        child.terminate()
        child.wait(60)


def _wait_up(proc, child, out) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if urllib.request.urlopen(proc.url + "/readyz", timeout=2).status == 200:
                return
        except OSError:
            pass
        assert time.monotonic() < deadline and child.poll() is None, out.read_text()
        time.sleep(0.1)


def _tenure(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "tenure.collector", *args], capture_output=True, text=True, env=env, timeout=60)


def test_query_command_formats(collector):
    env = {"TENURE_URL": collector.url, "TENURE_ADMIN_KEY": collector.admin_key}
    as_json = _tenure("query", "--format", "json", "SELECT 1 AS one, 'x' AS letter", env_extra=env)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["rows"] == [[1, "x"]]
    as_csv = _tenure("query", "--format", "csv", "SELECT 1 AS one", env_extra=env)
    assert as_csv.stdout == '"one"\n1\n'
    as_table = _tenure("query", "SELECT 42 AS answer", env_extra=env)
    assert "answer" in as_table.stdout and "42" in as_table.stdout and "1 rows in" in as_table.stdout
    refused = _tenure("query", "DROP TABLE tenure.events", env_extra=env)
    assert refused.returncode == 1 and "(READONLY)" in refused.stderr
    no_key = _tenure("query", "SELECT 1", env_extra={"TENURE_URL": collector.url, "TENURE_ADMIN_KEY": ""})
    assert no_key.returncode == 1 and "an admin key is required" in no_key.stderr
