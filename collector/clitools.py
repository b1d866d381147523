"""What every `tenure` command that talks to a running collector shares: the HTTP call with the
admin key (stdlib urllib: the CLI needs no more) and plain-text / CSV tables."""

from __future__ import annotations

import csv
import io
import json
import urllib.error
import urllib.parse
import urllib.request

import click

DEFAULT_URL = "http://127.0.0.1:8080"


def call(url: str, admin_key: str | None, path: str, *, params: list[tuple[str, str]] | None = None,
         body: dict | None = None, timeout: float = 120.0) -> bytes:
    """GET (no body) or POST JSON to `url + path` with the admin key; the answer's bytes.
    Raises click.ClickException("HTTP <status>: <the collector's error>") on failure."""
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
        raise click.ClickException(f"HTTP {exc.code}: {detail}") from None
    except urllib.error.URLError as exc:
        raise click.ClickException(f"cannot reach the collector at {url}: {exc.reason}") from None


def text_table(header: list[str], rows: list[list]) -> str:
    """Aligned columns, the first left-aligned, the rest right-aligned (numbers), a rule under the header."""
    cells = [[("" if c is None else str(c)) for c in row] for row in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def csv_text(header: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().rstrip("\n")


def remote_options(fn):
    """--url / --admin-key, shared by every command that talks to a running collector."""
    fn = click.option("--admin-key", envvar="TENURE_ADMIN_KEY", default=None, help="admin key (env TENURE_ADMIN_KEY)")(fn)
    fn = click.option("--url", envvar="TENURE_URL", default=DEFAULT_URL, show_default=True, help="collector URL (env TENURE_URL)")(fn)
    return fn
