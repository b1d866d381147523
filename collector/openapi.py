"""The OpenAPI 3.1 description served at `GET /openapi.json`: ingest, query, health, and the
analytics paths contributed by `tenure.analytics.openapi`."""

from __future__ import annotations

from tenure.schema.limits import MAX_BATCH_BYTES, MAX_BATCH_MESSAGES, MAX_MESSAGE_BYTES

from .handlers import SINGLE_TYPES

_ERROR = {"type": "object", "properties": {"success": {"const": False}, "error": {"type": "string"},
                                           "field": {"type": "string"}}, "required": ["success", "error"]}
_INGEST_OK = {
    "type": "object",
    "properties": {
        "success": {"const": True},
        "accepted": {"type": "integer", "description": "messages stored (on disk in the write-ahead log)"},
        "rejected": {"type": "array", "description": "messages kept in tenure.quarantine instead",
                     "items": {"type": "object", "properties": {
                         "index": {"type": "integer"}, "messageId": {"type": "string"},
                         "field": {"type": "string", "description": "JSON path, like $.batch[3].properties.revenue"},
                         "error": {"type": "string"}}}},
    },
}


def _responses(ok: dict, extra: dict | None = None) -> dict:
    def err(text: str) -> dict:
        return {"description": text, "content": {"application/json": {"schema": _ERROR}}}

    responses = {"200": {"description": "OK", "content": {"application/json": {"schema": ok}}},
                 "400": err("unusable request (not JSON, not a batch, bad SQL)"), "401": err("missing or unknown key")}
    responses.update(extra or {})
    return responses


def _ingest(summary: str) -> dict:
    return {"post": {
        "summary": summary,
        "security": [{"writeKey": []}],
        "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}},
                        "description": f"JSON, optionally Content-Encoding: gzip. Limits after decompression: "
                                       f"{MAX_MESSAGE_BYTES} bytes per message, {MAX_BATCH_BYTES} per request, "
                                       f"{MAX_BATCH_MESSAGES} messages per batch (defaults)."},
        "responses": _responses(_INGEST_OK, {
            "413": {"description": "body over the limit"},
            "429": {"description": "rate limited; see Retry-After"},
            "503": {"description": "backlog full or store failing; see Retry-After"},
        }),
    }}


def build_spec() -> dict:
    paths: dict = {
        "/v1/batch": _ingest("A Segment-spec batch: {batch: [message...], sentAt?, context?, writeKey?}"),
        "/v1/import": _ingest("Alias of /v1/batch (older SDKs)"),
        **{f"/v1/{t}": _ingest(f"One {t} message") for t in SINGLE_TYPES},
        "/v1/query": {"post": {
            "summary": "Read-only ClickHouse SQL (readonly=1: no writes, DDL, SET, file()/url()); row and time limits",
            "security": [{"adminKey": []}],
            "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {
                "sql": {"type": "string"}, "format": {"enum": ["json", "csv"], "default": "json"}}, "required": ["sql"]}}}},
            "responses": _responses({"type": "object", "properties": {
                "columns": {"type": "array", "items": {"type": "string"}},
                "rows": {"type": "array", "items": {"type": "array"}},
                "elapsed_ms": {"type": "number"}}}),
        }},
        "/healthz": {"get": {"summary": "The process is up", "responses": {"200": {"description": "up"}}}},
        "/readyz": {"get": {"summary": "Store reachable and migrations applied",
                            "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text format"}}}},
    }
    try:
        from tenure.analytics.openapi import PATHS as analytics_paths
    except ImportError:
        analytics_paths = {}
    paths.update(analytics_paths)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tenure collector", "version": "0.1.0",
                 "description": "Segment HTTP Tracking API compatible ingest, read-only SQL and retention analytics."},
        "paths": paths,
        "components": {"securitySchemes": {
            "writeKey": {"type": "http", "scheme": "basic", "description": "write key as the user, empty password"},
            "adminKey": {"type": "http", "scheme": "bearer"},
        }},
    }
