"""The Segment HTTP Tracking API routes: `/v1/batch` (and `/v1/import`), `/v1/track`, `/v1/identify`,
`/v1/alias`, `/v1/page`, `/v1/screen`, `/v1/group`.

Order of work per request, cheapest refusal first: key in a header (401), backlog (503), body size
(413), envelope (400), key in the body (401), then per-message validation and one group-committed
write-ahead-log append. The answer is sent only after that append is on disk. A message whose id
was accepted recently counts as accepted and is not stored again (see `recent`).
"""

from __future__ import annotations

import base64
import binascii
import time

from aiohttp import web

from .appkeys import CONFIG_KEY, FAULTS_KEY, KEYS_KEY, METRICS_KEY, RECENT_KEY, WAL_KEY
from .body import read_body
from .errors import AuthError, Overloaded, RateLimited
from .ingest import Parsed, normalize_batch, normalize_single, parse_batch, peek_write_key

routes = web.RouteTableDef()
SINGLE_TYPES = ("track", "identify", "alias", "page", "screen", "group")


def header_write_key(request: web.Request) -> str | None:
    """The write key from Basic auth (user part; a missing colon is tolerated) or `X-Write-Key`."""
    auth = request.headers.get("Authorization", "")
    if auth[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise AuthError("Authorization header is not valid Basic auth") from None
        return decoded.split(":", 1)[0] or None
    return request.headers.get("X-Write-Key") or None


def _project(request: web.Request, key: str | None) -> str:
    if not key:
        raise AuthError("missing write key: send it as the Basic auth user, X-Write-Key or writeKey")
    project = request.app[KEYS_KEY].project_for(key)
    if project is None:
        raise AuthError(f"unknown write key {key[:4]}…")
    return project


def _check_capacity(request: web.Request) -> None:
    app = request.app
    status = app[FAULTS_KEY].take_rejection() if app[CONFIG_KEY].enable_faults else 0
    if status == 503:
        raise Overloaded("unavailable (fault injected)", retry_after=app[FAULTS_KEY].retry_after)
    if app[WAL_KEY].over_backlog():
        raise Overloaded("backlog full: the store is behind; retry later", retry_after=app[FAULTS_KEY].retry_after)
    if status == 429:
        raise RateLimited("rate limited (fault injected)", retry_after=app[FAULTS_KEY].retry_after)


async def _commit(request: web.Request, project: str, parsed: Parsed) -> web.Response:
    recent = request.app[RECENT_KEY]
    fresh = recent.fresh_rows(parsed.events)
    keys = [(row[0], row[1]) for row in fresh]
    recent.add_all(keys)  # before the await: a concurrent resend of the same ids is dropped too
    try:
        await request.app[WAL_KEY].append(fresh, parsed.quarantine)
    except BaseException:
        recent.forget(keys)  # not on disk: the client's retry must be stored
        raise
    metrics = request.app[METRICS_KEY]
    if len(fresh) != len(parsed.events):
        metrics.resends.labels(project).inc(len(parsed.events) - len(fresh))
    metrics.accepted.labels(project).inc(len(parsed.events))
    if parsed.rejected:
        metrics.rejected.labels(project).inc(len(parsed.rejected))
    return web.json_response({"success": True, "accepted": len(parsed.events), "rejected": parsed.rejected})


async def _prelude(request: web.Request) -> tuple[str | None, bytes, int]:
    """(project of the header key, or None when the key must come from the body; body; receive time)."""
    key = header_write_key(request)
    project = _project(request, key) if key is not None else None  # a bad key is refused before the body is read
    _check_capacity(request)
    body = await read_body(request, request.app[CONFIG_KEY].limits.max_batch_bytes)
    return project, body, int(time.time() * 1000)


@routes.post("/v1/batch")
@routes.post("/v1/import")
async def batch(request: web.Request) -> web.Response:
    project, body, received_ms = await _prelude(request)
    limits = request.app[CONFIG_KEY].limits
    envelope = parse_batch(body, limits)
    project = project or _project(request, envelope.write_key)
    return await _commit(request, project, normalize_batch(envelope, project, received_ms, limits))


def _single(mtype: str):
    async def handler(request: web.Request) -> web.Response:
        project, body, received_ms = await _prelude(request)
        body_key = peek_write_key(body)  # also refuses a body that is not a JSON object (400)
        project = project or _project(request, body_key)
        limits = request.app[CONFIG_KEY].limits
        return await _commit(request, project, normalize_single(body, mtype, project, received_ms, limits))

    handler.__name__ = f"single_{mtype}"
    return handler


for _type in SINGLE_TYPES:
    routes.post(f"/v1/{_type}")(_single(_type))
