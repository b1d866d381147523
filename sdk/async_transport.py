"""POST a batch body with aiohttp: the `AsyncTracker`'s transport, and the SDK's only aiohttp import.

This module is imported only when an `AsyncTracker` is built, so sync users never load aiohttp.
One `ClientSession` per tracker keeps connections alive; gzip runs in a worker thread for large
bodies so a 500 KB batch never stalls the event loop. Like the sync transport it turns one body
into one `Outcome` and never raises.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp

from .config import Options
from .retry import Outcome
from .transport import compress, request_headers

log = logging.getLogger("tenure.sdk")

_INLINE_GZIP_BYTES = 64 * 1024  # below this, compressing inline is cheaper than a thread hop


class AiohttpTransport:
    def __init__(self, options: Options) -> None:
        self._url = options.host.rstrip("/") + options.path
        self._options = options
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._options.timeout),
                connector=aiohttp.TCPConnector(limit=4),
            )
        return self._session

    async def post(self, body: bytes) -> Outcome:
        gz = self._options.gzip
        if gz:
            body = compress(body) if len(body) < _INLINE_GZIP_BYTES else await asyncio.to_thread(
                compress, body)
        try:
            async with self._get_session().post(
                self._url, data=body, headers=request_headers(self._options, gz)
            ) as resp:
                data = await resp.read()
                if self._options.debug:
                    log.debug("POST %s -> %s (%d bytes sent)", self._url, resp.status, len(body))
                return Outcome(resp.status, data, resp.headers.get("Retry-After"))
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            return Outcome(None, error=exc)

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def forget(self) -> None:
        """After a fork: drop the parent's session without touching its sockets or loop."""
        self._session = None
