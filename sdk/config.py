"""The tracker's options: one frozen value, validated once when the tracker is built.

Why frozen: the sender thread, the caller threads and a forked child all read the same options;
an immutable value needs no lock and cannot drift between them.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Literal
from urllib.parse import urlsplit

from tenure.schema.limits import MAX_BATCH_BYTES, MAX_BATCH_MESSAGES, MAX_MESSAGE_BYTES

OnFull = Literal["spool", "drop", "block"]
ErrorHandler = Callable[[BaseException, list], Any]

#: Room kept in a batch for the envelope (`{"batch":[`, `sentAt`, library context).
ENVELOPE_BYTES = 1024


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped per wait and in total.

    `max_retry_time` bounds the whole life of a batch's delivery attempts; past it the batch goes
    to the spool (or to `on_error` without one). A `Retry-After` answer is honoured even when it is
    longer than `max_backoff`, but never past the total budget.
    """

    initial_backoff: float = 0.1
    max_backoff: float = 10.0
    max_retry_time: float = 60.0

    def __post_init__(self) -> None:
        if not 0 < self.initial_backoff <= self.max_backoff:
            raise ValueError("need 0 < initial_backoff <= max_backoff")
        if self.max_retry_time < 0:
            raise ValueError("max_retry_time must be >= 0")


@dataclass(frozen=True, slots=True)
class Options:
    """Everything a tracker can be told. See docs/sdk.md for the table of options."""

    write_key: str
    host: str = "http://127.0.0.1:8080"
    path: str = "/v1/batch"
    #: Send a batch when this many messages are queued...
    flush_at: int = 100
    #: ...or when this many seconds passed since the last send.
    flush_interval: float = 0.5
    max_queue_size: int = 10_000
    max_queue_bytes: int = 64 * 1024 * 1024
    #: What a full queue does: "spool" (default with a spool_dir), "drop" (default without), "block".
    on_full: OnFull | None = None
    block_timeout: float = 1.0
    #: Per-request socket timeout, seconds.
    timeout: float = 10.0
    gzip: bool = True
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    spool_dir: str | None = None
    #: False: validate and drop (tests). True with sync_mode: send on the caller's thread.
    send: bool = True
    sync_mode: bool = False
    debug: bool = False
    #: Bound on the flush at interpreter exit; what is still queued after it is spooled.
    exit_timeout: float = 3.0
    on_error: ErrorHandler | None = None
    max_message_bytes: int = MAX_MESSAGE_BYTES
    max_batch_bytes: int = MAX_BATCH_BYTES
    max_batch_messages: int = MAX_BATCH_MESSAGES

    def __post_init__(self) -> None:
        if not isinstance(self.write_key, str) or not self.write_key:
            raise ValueError("write_key must be a non-empty string")
        parts = urlsplit(self.host)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"host must be an http(s) URL, got {self.host!r}")
        if not 1 <= self.flush_at <= self.max_batch_messages:
            raise ValueError(f"flush_at must be between 1 and {self.max_batch_messages}")
        if self.flush_interval <= 0 or self.timeout <= 0 or self.exit_timeout < 0:
            raise ValueError("flush_interval and timeout must be > 0, exit_timeout >= 0")
        if self.max_queue_size < 1 or self.max_queue_bytes < self.max_message_bytes:
            raise ValueError("max_queue_size must be >= 1 and max_queue_bytes >= max_message_bytes")
        if self.max_batch_bytes <= ENVELOPE_BYTES + self.max_message_bytes:
            raise ValueError("max_batch_bytes must leave room for one message and the envelope")
        if self.on_full not in (None, "spool", "drop", "block"):
            raise ValueError(f"on_full must be 'spool', 'drop' or 'block', got {self.on_full!r}")
        if self.on_full == "spool" and not self.spool_dir:
            raise ValueError("on_full='spool' needs a spool_dir")
        if self.on_full is None:
            object.__setattr__(self, "on_full", "spool" if self.spool_dir else "drop")
        if self.spool_dir:
            object.__setattr__(self, "spool_dir", os.path.abspath(self.spool_dir))

    @classmethod
    def build(cls, write_key: str, host: str, **options: Any) -> "Options":
        """Options from keyword arguments; the retry knobs may be passed flat for convenience."""
        retry_keys = {f.name for f in fields(RetryPolicy)}
        retry_args = {k: options.pop(k) for k in list(options) if k in retry_keys}
        if retry_args:
            options["retry"] = RetryPolicy(**retry_args)
        known = {f.name for f in fields(cls)}
        unknown = set(options) - known
        if unknown:
            raise TypeError(f"unknown tracker option(s): {', '.join(sorted(unknown))}")
        return cls(write_key=write_key, host=host.rstrip("/"), **options)

    @property
    def batch_payload_bytes(self) -> int:
        """Bytes of messages a batch may carry, leaving room for the envelope."""
        return self.max_batch_bytes - ENVELOPE_BYTES

    @property
    def authorization(self) -> str:
        """HTTP Basic with the write key as user name and an empty password (Segment's scheme)."""
        return "Basic " + base64.b64encode(f"{self.write_key}:".encode()).decode("ascii")
