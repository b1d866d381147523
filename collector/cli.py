"""The `tenure` command: `serve`, `migrate`, `query`, and the analytics commands.

This is the edge: flags and `TENURE_*` variables become a frozen `CollectorConfig` here and
nowhere else.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path

import click

from . import logs
from .config import DEFAULT_DATA_DIR, CollectorConfig, Limits, WalSettings, env_flag, redact_url
from .clitools import call, remote_options, text_table

log = logging.getLogger("tenure.collector")


@click.group()
@click.version_option(package_name="tenure")
def main() -> None:
    """Tenure: event collection and retention analytics on ClickHouse."""


def _config(host: str, port: int, store: str | None, data_dir: str, **extra) -> CollectorConfig:
    return CollectorConfig(host=host, port=port, store_url=store or "", data_dir=Path(data_dir), **extra)


@main.command()
@click.option("--host", envvar="TENURE_HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="TENURE_PORT", default=8080, show_default=True, type=int)
@click.option("--store", envvar="TENURE_STORE", default=None,
              help="chdb:///abs/path (embedded; default <data-dir>/clickhouse) or http(s)://user:pass@host:8123/db")
@click.option("--data-dir", envvar="TENURE_DATA_DIR", default=DEFAULT_DATA_DIR, show_default=True,
              help="write-ahead log, generated keys, and the embedded store by default")
@click.option("--max-batch-bytes", envvar="TENURE_MAX_BATCH_BYTES", default=Limits.max_batch_bytes, show_default=True, type=int)
@click.option("--max-message-bytes", envvar="TENURE_MAX_MESSAGE_BYTES", default=Limits.max_message_bytes, show_default=True, type=int)
@click.option("--max-backlog-rows", envvar="TENURE_MAX_BACKLOG_ROWS", default=WalSettings.max_backlog_rows, show_default=True, type=int)
@click.option("--log-level", envvar="TENURE_LOG_LEVEL", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
@click.option("--enable-faults", is_flag=True, default=env_flag("TENURE_ENABLE_FAULTS"), hidden=True)
def serve(host, port, store, data_dir, max_batch_bytes, max_message_bytes, max_backlog_rows, log_level, enable_faults) -> None:
    """Run the collector (Segment HTTP API on /v1/*) until SIGTERM or Ctrl-C."""
    from aiohttp import web

    from .app import create_app
    from .keys import KeyRing, load_or_create

    logs.setup(log_level)
    config = _config(
        host, port, store, data_dir,
        limits=Limits(max_batch_bytes=max_batch_bytes, max_message_bytes=max_message_bytes),
        wal=WalSettings(max_backlog_rows=max_backlog_rows),
        enable_faults=enable_faults,
    )
    loaded = load_or_create(config.keys_file, os.environ.get("TENURE_WRITE_KEYS"), os.environ.get("TENURE_ADMIN_KEY"))
    if loaded.created:
        click.echo(f"created project 'default' with keys in {loaded.source}:", err=True)
        for key, project in loaded.write_keys.items():
            click.echo(f"  write key ({project}): {key}", err=True)
        click.echo(f"  admin key: {loaded.admin_key}", err=True)
    app = create_app(config, KeyRing.build(loaded.write_keys, loaded.admin_key))

    async def run() -> None:
        runner = web.AppRunner(app, auto_decompress=False, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, config.host, config.port, reuse_address=True)
            await site.start()
            log.info(
                "tenure collector started",
                extra={"listen": f"http://{config.host}:{config.port}", "store": redact_url(config.resolved_store_url),
                       "keys": loaded.source, "projects": sorted(set(loaded.write_keys.values())),
                       "data_dir": str(config.data_dir.resolve())},
            )
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
            log.info("stopping: no new requests; draining the write-ahead log")
        finally:
            await runner.cleanup()
        log.info("stopped")

    asyncio.run(run())


@main.command()
@click.option("--store", envvar="TENURE_STORE", default=None)
@click.option("--data-dir", envvar="TENURE_DATA_DIR", default=DEFAULT_DATA_DIR, show_default=True)
def migrate(store, data_dir) -> None:
    """Apply the schema migrations to the store (the collector also does this at start)."""
    from .store import Store

    config = _config("127.0.0.1", 0, store, data_dir)
    opened = Store(config.resolved_store_url)
    try:
        applied = opened.migrate()
    finally:
        opened.close()
    click.echo(f"applied migrations {applied}" if applied else "schema is up to date")


@main.command()
@remote_options
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.argument("sql")
def query(url, admin_key, fmt, sql) -> None:
    """Run read-only SQL through a running collector."""
    body = call(url, admin_key, "/v1/query", body={"sql": sql, "format": "csv" if fmt == "csv" else "json"})
    if fmt == "csv":
        sys.stdout.write(body.decode("utf-8"))
        return
    answer = json.loads(body)
    if fmt == "json":
        click.echo(json.dumps(answer, indent=2))
        return
    click.echo(text_table(answer["columns"], answer["rows"]))
    click.echo(f"{len(answer['rows'])} rows in {answer['elapsed_ms']} ms")


def _register_analytics() -> None:
    try:
        from tenure.analytics.cli import commands
    except ImportError:
        return
    for command in commands:
        main.add_command(command)


_register_analytics()
