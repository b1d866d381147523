"""Reading a request body within bounds: the compressed bytes and the inflated bytes are both capped.

gzip is inflated with `max_length`, so a gzip bomb costs at most `limit + 1` bytes of memory before
it is refused with 413; the compressed body is read in chunks and refused as soon as it passes the
same limit (a compressed body larger than the inflated limit cannot be valid).
"""

from __future__ import annotations

import zlib

from aiohttp import web

from .errors import PayloadTooLarge, RequestError


async def read_limited(request: web.Request, limit: int) -> bytes:
    """The raw body, refused with 413 past `limit` bytes without reading the rest into memory."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"request body is {request.content_length} bytes, over the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def inflate(data: bytes, encoding: str, limit: int) -> bytes:
    """Decode `Content-Encoding` (gzip, deflate or none) into at most `limit` bytes."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return data
    if encoding in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif encoding == "deflate":
        wbits = zlib.MAX_WBITS
    else:
        raise RequestError(f"unsupported Content-Encoding {encoding!r}; use gzip or none")
    try:
        inflater = zlib.decompressobj(wbits)
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        if encoding != "deflate":
            raise RequestError(f"body is not valid {encoding}: {exc}") from exc
        try:  # "deflate" in the wild is often raw deflate, without the zlib header
            inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            out = inflater.decompress(data, limit + 1)
        except zlib.error as exc2:
            raise RequestError(f"body is not valid deflate: {exc2}") from exc2
    if len(out) > limit or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"decompressed body is over the limit of {limit} bytes")
    return out


async def read_body(request: web.Request, limit: int) -> bytes:
    raw = await read_limited(request, limit)
    return inflate(raw, request.headers.get("Content-Encoding", ""), limit)
