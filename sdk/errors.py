"""Every exception the SDK raises or hands to `on_error`, in one tree.

    TenureError                     base: `except TenureError` catches anything the SDK raises
    ├── ValidationError             a bad call, raised at the call site before anything is queued
    │                               (also a ValueError); `.path` names the field: `$.properties.revenue`
    ├── ClosedError                 the tracker was shut down (also a RuntimeError)
    ├── NotInitializedError         `tenure.sdk.track()` before `tenure.sdk.init()`
    ├── QueueFullError              the queue hit its cap and the policy dropped the message
    ├── SpoolError                  the disk spool could not be written or read
    └── DeliveryError               a batch was not accepted; `.status`, `.messages`
        └── RejectedError           the collector answered 200 but refused some messages;
                                    `.rejections` is its per-message list

Only `ValidationError`, `ClosedError` and `NotInitializedError` are ever raised into the app: they
are programming errors found at the call site. Everything that happens later, on the sender, is
reported through `on_error(exc, messages)` and the `tenure.sdk` logger, because by then the app's
call has long returned and raising would only crash a background thread.
"""

from __future__ import annotations

from typing import Any


class TenureError(Exception):
    """Base class of every error of `tenure.sdk`."""


class ValidationError(TenureError, ValueError):
    """A call the collector would refuse; raised before the message is queued.

    `path` is a JSON path into the message as sent (`$.properties.revenue`, `$.userId`, `$` for
    the whole message), the same notation the collector uses in its `rejected` list.
    """

    def __init__(self, reason: str, path: str = "$") -> None:
        super().__init__(f"{reason} - at `{path}`")
        self.reason = reason
        self.path = path


class ClosedError(TenureError, RuntimeError):
    """The tracker was shut down; a closed tracker never silently swallows events."""


class NotInitializedError(TenureError, RuntimeError):
    """The module-level helpers were used before `tenure.sdk.init(write_key)`."""


class QueueFullError(TenureError):
    """The in-memory queue reached its cap (messages or bytes) and the message was dropped."""

    def __init__(self, message: str, dropped: int = 1) -> None:
        super().__init__(message)
        self.dropped = dropped


class SpoolError(TenureError):
    """Writing or reading the disk spool failed (disk full, permissions, corrupt file)."""


class DeliveryError(TenureError):
    """A batch could not be delivered: a non-retryable answer, or the retry budget ran out.

    `status` is the last HTTP status (None for a network error); `messages` the messages concerned,
    decoded, so `on_error` can log or re-route them.
    """

    def __init__(
        self, reason: str, *, status: int | None = None, messages: list[Any] | None = None
    ) -> None:
        super().__init__(reason if status is None else f"{reason} (HTTP {status})")
        self.reason = reason
        self.status = status
        self.messages = messages or []


class RejectedError(DeliveryError):
    """The collector accepted the batch but refused some messages (its 200 `rejected` list).

    These are not retried: the same message would be refused again. `rejections` holds the
    collector's entries (`index`, `messageId`, `field`, `error`).
    """

    def __init__(self, rejections: list[dict], messages: list[Any]) -> None:
        first = rejections[0] if rejections else {}
        super().__init__(
            f"{len(rejections)} message(s) rejected by the collector, first: "
            f"{first.get('error', '?')} at {first.get('field', '?')}",
            status=200,
            messages=messages,
        )
        self.rejections = rejections
