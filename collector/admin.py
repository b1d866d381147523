"""Operator and analyst routes: health, readiness, metrics, read-only SQL, test fault switches.

`/v1/query` runs analysts' SQL through the running collector because chDB locks its directory to
one process. The query runs with ClickHouse `readonly=1` (no writes, DDL, SET, file()/url()),
bounded in rows and time. Admin auth is enforced by the middleware in `app`.
"""

from __future__ import annotations

import dataclasses
import time

import msgspec
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .appkeys import CONFIG_KEY, FAULTS_KEY, METRICS_KEY, STORE_KEY, WRITER_KEY
from .body import read_body
from .errors import RequestError

routes = web.RouteTableDef()


class QueryRequest(msgspec.Struct, forbid_unknown_fields=True):
    sql: str
    format: str = "json"


class QueryAnswer(msgspec.Struct):
    columns: list[str]
    rows: list
    elapsed_ms: float


def _enc_hook(value):
    return str(value)  # IP addresses, UUID subclasses, bytes-like values: their text form


_query_decoder = msgspec.json.Decoder(QueryRequest)
_answer_encoder = msgspec.json.Encoder(enc_hook=_enc_hook, decimal_format="number")


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    store = request.app[STORE_KEY]
    ok, reason = await store.run(lambda _client: store.ready())
    writer_error = request.app[WRITER_KEY].last_error
    body = {"status": "ok" if ok else "unavailable", "reason": reason, "writer_error": writer_error}
    return web.json_response(body, status=200 if ok else 503)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    data = generate_latest(request.app[METRICS_KEY].registry)
    return web.Response(body=data, headers={"Content-Type": CONTENT_TYPE_LATEST})


@routes.get("/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    from .openapi import build_spec

    return web.json_response(build_spec())


@routes.post("/v1/query")
async def query(request: web.Request) -> web.Response:
    limits = request.app[CONFIG_KEY].limits
    body = await read_body(request, limits.max_query_body_bytes)
    try:
        asked = _query_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise RequestError(f"invalid query request: {exc}") from None
    except msgspec.DecodeError as exc:
        raise RequestError(f"malformed JSON: {exc}") from None
    if asked.format not in ("json", "csv"):
        raise RequestError("format must be json or csv", field="$.format")
    if not asked.sql.strip():
        raise RequestError("sql is empty", field="$.sql")
    store = request.app[STORE_KEY]
    started = time.perf_counter()
    result = await store.run(lambda _client: store.query_readonly(asked.sql, asked.format))
    elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
    if asked.format == "csv":
        return web.Response(body=result, content_type="text/csv", headers={"X-Elapsed-Ms": str(elapsed_ms)})
    columns, rows = result
    answer = QueryAnswer(columns, rows, elapsed_ms)
    return web.Response(body=_answer_encoder.encode(answer), content_type="application/json")


class FaultsRequest(msgspec.Struct, forbid_unknown_fields=True):
    store_down: bool | None = None
    reject_status: int | None = None
    reject_count: int | None = None
    retry_after: int | None = None
    crash_after_insert: bool | None = None
    refuse_message_id: str | None = None


@routes.post("/v1/admin/faults")
async def faults(request: web.Request) -> web.Response:
    if not request.app[CONFIG_KEY].enable_faults:
        raise web.HTTPNotFound()
    asked = msgspec.json.decode(await request.read(), type=FaultsRequest)
    state = request.app[FAULTS_KEY]
    for name in FaultsRequest.__struct_fields__:
        value = getattr(asked, name)
        if value is not None:
            setattr(state, name, value)
    return web.json_response(dataclasses.asdict(state))
