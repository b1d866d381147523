"""Typed keys of the aiohttp application state, declared in one place (aiohttp's `web.AppKey`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .config import CollectorConfig
    from .faults import Faults
    from .keys import KeyRing
    from .metrics import Metrics
    from .recent import RecentIds
    from .store import Store
    from .wal import WriteAheadLog
    from .writer import Writer

CONFIG_KEY: web.AppKey["CollectorConfig"] = web.AppKey("config")
KEYS_KEY: web.AppKey["KeyRing"] = web.AppKey("keys")
STORE_KEY: web.AppKey["Store"] = web.AppKey("store")
WAL_KEY: web.AppKey["WriteAheadLog"] = web.AppKey("wal")
WRITER_KEY: web.AppKey["Writer"] = web.AppKey("writer")
METRICS_KEY: web.AppKey["Metrics"] = web.AppKey("metrics")
FAULTS_KEY: web.AppKey["Faults"] = web.AppKey("faults")
RECENT_KEY: web.AppKey["RecentIds"] = web.AppKey("recent")
