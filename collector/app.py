"""The aiohttp application factory: routes, middlewares, and the ingest pipeline's lifetime.

The pipeline (store → writer → write-ahead log) lives in one cleanup context, so a failed start-up
and a shutdown unwind it in one place: on shutdown the log stops taking appends and seals its open
segment, the writer stores what is queued (bounded by `drain_timeout_s`; what is left stays on disk
and is replayed at the next start), and the store closes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import AsyncIterator

from aiohttp import web

from . import admin, handlers
from .appkeys import CONFIG_KEY, FAULTS_KEY, KEYS_KEY, METRICS_KEY, RECENT_KEY, STORE_KEY, WAL_KEY, WRITER_KEY
from .config import CollectorConfig
from .errors import AuthError, CollectorError
from .faults import Faults
from .keys import KeyRing
from .metrics import Metrics
from .recent import RecentIds
from .store import Store
from .wal import WriteAheadLog
from .writer import Writer

log = logging.getLogger("tenure.collector")
ADMIN_PREFIXES = ("/v1/query", "/v1/insights", "/v1/admin")
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Content-Encoding, X-Write-Key",
    "Access-Control-Max-Age": "86400",
}


@web.middleware
async def error_middleware(request: web.Request, handler) -> web.StreamResponse:
    """One place that turns the exception tree into JSON answers, and counts them."""
    try:
        response = await handler(request)
    except CollectorError as exc:
        body = {"success": False, "error": exc.message}
        if exc.field:
            body["field"] = exc.field
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        response = web.json_response(body, status=exc.status, headers=headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        response = web.json_response({"success": False, "error": exc.reason}, status=exc.status, headers=headers)
    except Exception:  # a bug: logged with its traceback, answered in the same JSON shape
        log.exception("unhandled error", extra={"path": request.path})
        response = web.json_response({"success": False, "error": "internal error"}, status=500)
    if request.path.startswith("/v1/"):
        response.headers.update(CORS_HEADERS)
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
    request.app[METRICS_KEY].requests.labels(route, str(response.status)).inc()
    return response


@web.middleware
async def admin_middleware(request: web.Request, handler) -> web.StreamResponse:
    if request.path.startswith(ADMIN_PREFIXES) and request.method != "OPTIONS":
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        if not request.app[KEYS_KEY].is_admin(token):
            raise AuthError("admin key required: Authorization: Bearer <admin key>")
    return await handler(request)


async def preflight(request: web.Request) -> web.Response:
    return web.Response(status=204, headers=CORS_HEADERS)


async def pipeline(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG_KEY]
    loop = asyncio.get_running_loop()
    store = await loop.run_in_executor(None, lambda: Store(
        config.resolved_store_url, app[FAULTS_KEY],
        max_query_rows=config.limits.max_query_rows, max_query_seconds=config.limits.max_query_seconds,
        insert_lanes=config.writer.insert_lanes))
    try:
        applied = await store.run(lambda _client: store.migrate())
        if applied:
            log.info("migrations applied", extra={"versions": applied})
        writer = Writer(store, config.writer, lambda rows: wal.stored(rows), app[METRICS_KEY])
        wal = WriteAheadLog(config.wal_dir, config.wal, writer.submit)
        replay = wal.recover()
        recent = app[RECENT_KEY]
        recent.add_all(await store.run(_stored_ids, config.wal.recent_hours, config.wal.recent_ids))
        for segment in replay:
            recent.add_all((row[0], row[1]) for row in segment.events)
        for segment in replay:
            writer.submit(segment)
        if replay:
            log.info("replaying write-ahead log", extra={"segments": len(replay), "rows": sum(s.rows for s in replay)})
        app[METRICS_KEY].backlog.set_function(lambda: wal.backlog_rows)
        writer.start()
        wal.start()
        app[STORE_KEY], app[WAL_KEY], app[WRITER_KEY] = store, wal, writer
        yield
        await loop.run_in_executor(None, wal.close)
        drained = await loop.run_in_executor(None, writer.stop, config.writer.drain_timeout_s)
        if not drained:
            log.warning("shutdown before the store took everything; the write-ahead log keeps the rest for replay")
    finally:
        await loop.run_in_executor(None, store.close)


def _stored_ids(client, hours: int, limit: int) -> list[tuple[str, str]]:
    """(project, message_id) of the events received in the last `hours`, to seed the resend filter."""
    result = client.query(
        "SELECT project, message_id FROM tenure.events WHERE received_at >= now64(3) - toIntervalHour({hours:UInt32}) "
        "LIMIT {limit:UInt64}", parameters={"hours": hours, "limit": limit})
    return [tuple(row) for row in result.result_rows]


def create_app(config: CollectorConfig, keys: KeyRing) -> web.Application:
    app = web.Application(middlewares=[error_middleware, admin_middleware])
    app[CONFIG_KEY] = config
    app[KEYS_KEY] = keys
    app[METRICS_KEY] = Metrics()
    app[FAULTS_KEY] = Faults()
    app[RECENT_KEY] = RecentIds(config.wal.recent_ids)
    app.add_routes(handlers.routes)
    app.add_routes(admin.routes)
    try:
        from tenure.analytics import http as insights
    except ImportError:  # analytics routes are optional until that package ships them
        insights = None
    if insights is not None and hasattr(insights, "routes"):
        app.add_routes(insights.routes)
    app.router.add_route("OPTIONS", "/v1/{tail:.*}", preflight)
    app.cleanup_ctx.append(pipeline)
    return app
