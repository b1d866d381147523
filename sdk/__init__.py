"""Tenure's embeddable SDK: typed, non-blocking, batching, and it never loses an event it accepted.

    from tenure.sdk import Tracker
    tracker = Tracker("WRITE_KEY", host="https://collector.example", spool_dir="/var/lib/app/spool")
    tracker.purchase("u1", order_id="o-9", revenue="19.90", currency="EUR")

For scripts there is a module-level default tracker, as in Segment's library:

    import tenure.sdk as tenure
    tenure.init("WRITE_KEY")
    tenure.track("Report Exported", user_id="u1")

`AsyncTracker` (same calls, `await flush()`) lives in `tenure.sdk.async_client` and is imported on
first use, so the sync SDK never imports aiohttp. The only global state is the default tracker.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .client import Tracker
from .config import Options, RetryPolicy
from .encode import uuid7
from .errors import (
    ClosedError,
    DeliveryError,
    NotInitializedError,
    QueueFullError,
    RejectedError,
    SpoolError,
    TenureError,
    ValidationError,
)

if TYPE_CHECKING:
    from .async_client import AsyncTracker

__all__ = [
    "AsyncTracker", "ClosedError", "DeliveryError", "NotInitializedError", "Options",
    "QueueFullError", "RejectedError", "RetryPolicy", "SpoolError", "TenureError", "Tracker",
    "ValidationError", "alias", "click", "default", "flush", "group", "identify", "init", "login",
    "page", "purchase", "register", "screen", "shutdown", "track", "uuid7",
]

_default: Tracker | None = None
_default_lock = threading.Lock()


def __getattr__(name: str) -> Any:
    if name == "AsyncTracker":  # lazy: only asyncio apps pay for importing aiohttp
        from .async_client import AsyncTracker

        return AsyncTracker
    raise AttributeError(name)


def init(write_key: str, host: str = "http://127.0.0.1:8080", **options: Any) -> Tracker:
    """Create (or replace) the default tracker; a replaced one is shut down first."""
    global _default
    with _default_lock:
        old, _default = _default, Tracker(write_key, host, **options)
    if old is not None:
        old.shutdown()
    return _default


def default() -> Tracker:
    """The default tracker; raises NotInitializedError before `init()`."""
    tracker = _default
    if tracker is None:
        raise NotInitializedError("call tenure.sdk.init(write_key) before tenure.sdk.track()")
    return tracker


def track(event: str, **kwargs: Any) -> str:
    return default().track(event, **kwargs)


def identify(user_id: Any, traits: Any = None, **kwargs: Any) -> str:
    return default().identify(user_id, traits, **kwargs)


def alias(previous_id: Any, user_id: Any, **kwargs: Any) -> str:
    return default().alias(previous_id, user_id, **kwargs)


def group(group_id: Any, traits: Any = None, **kwargs: Any) -> str:
    return default().group(group_id, traits, **kwargs)


def page(name: str | None = None, properties: Any = None, **kwargs: Any) -> str:
    return default().page(name, properties, **kwargs)


def screen(name: str | None = None, properties: Any = None, **kwargs: Any) -> str:
    return default().screen(name, properties, **kwargs)


def register(user_id: Any, **kwargs: Any) -> str:
    return default().register(user_id, **kwargs)


def login(user_id: Any, **kwargs: Any) -> str:
    return default().login(user_id, **kwargs)


def click(user_id: Any = None, **kwargs: Any) -> str:
    return default().click(user_id, **kwargs)


def purchase(user_id: Any, **kwargs: Any) -> str:
    return default().purchase(user_id, **kwargs)


def flush(timeout: float | None = None) -> bool:
    return default().flush(timeout)


def shutdown(timeout: float | None = None) -> None:
    """Shut the default tracker down and forget it; a no-op if there is none."""
    global _default
    with _default_lock:
        tracker, _default = _default, None
    if tracker is not None:
        tracker.shutdown(timeout)
