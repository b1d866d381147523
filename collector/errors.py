"""The collector's one exception tree.

    CollectorError                 base; carries the HTTP status the edge answers with
    ├── RequestError (400)         the request as a whole is unusable (not JSON, not a batch)
    ├── AuthError (401)            missing or unknown write key / admin key
    ├── PayloadTooLarge (413)      body over the limit, measured after decompression
    ├── RateLimited (429)          slow down; has retry_after
    │   └── Overloaded (503)       the write-ahead log backlog is over its bound
    ├── QueryError (400)           an analyst's SQL failed; carries ClickHouse's message
    └── StoreError                 the store failed (translated from clickhouse-connect at the boundary)

Handlers raise these; one middleware turns them into `{"success": false, "error": ...}` answers.
"""

from __future__ import annotations


class CollectorError(Exception):
    status = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class RequestError(CollectorError):
    status = 400


class AuthError(CollectorError):
    status = 401


class PayloadTooLarge(CollectorError):
    status = 413


class RateLimited(CollectorError):
    status = 429

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Overloaded(RateLimited):
    status = 503


class QueryError(CollectorError):
    status = 400


class StoreError(CollectorError):
    status = 503
    retry_after = 5
