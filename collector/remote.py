"""Calls from the CLI to a running collector's admin API (stdlib urllib: the CLI needs no more)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import click

DEFAULT_URL = "http://127.0.0.1:8080"


def call(url: str, admin_key: str | None, path: str, *, params: list[tuple[str, str]] | None = None,
         body: dict | None = None, timeout: float = 120.0) -> bytes:
    """GET (no body) or POST JSON to `url + path` with the admin key; the answer's bytes.
    Raises click.ClickException with the collector's error message on failure."""
    if not admin_key:
        raise click.ClickException("an admin key is required (--admin-key or TENURE_ADMIN_KEY)")
    target = url.rstrip("/") + path
    if params:
        target += "?" + urllib.parse.urlencode(params)
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(target, data=data, method="POST" if data is not None else "GET")
    request.add_header("Authorization", f"Bearer {admin_key}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")
        try:
            detail = json.loads(detail).get("error", detail)
        except (ValueError, AttributeError):
            pass
        raise click.ClickException(f"{exc.code}: {detail}") from None
    except urllib.error.URLError as exc:
        raise click.ClickException(f"cannot reach the collector at {url}: {exc.reason}") from None
