"""`tenure retention|lifecycle|active|stickiness|funnel|rfm|ltv|churn-risk`: ask a running collector's
`/v1/insights` API (admin key) and print a readable table, or `--format json|csv`.

The lead registers `commands` into the `tenure` group. These commands only speak HTTP (urllib), so
they work against any collector, local or remote.
"""

from __future__ import annotations

import json

import click

from tenure.collector.clitools import call, csv_text, remote_options, text_table

from .picture import lifecycle_svg, retention_svg


def fetch(url: str, admin_key: str | None, metric: str, params: list[tuple[str, str]], timeout: float = 60.0) -> dict:
    try:
        return json.loads(call(url, admin_key, f"/v1/insights/{metric}", params=params, timeout=timeout))
    except click.ClickException as exc:
        raise click.ClickException(f"{metric}: {exc.message}") from None


def tabulate(metric: str, data: dict, percent: bool) -> tuple[list[str], list[list]]:
    """(header, rows) of an answer; retention cells become percentages of the cohort size when asked."""
    if metric == "retention":
        n = max((len(c["values"]) for c in data["cohorts"]), default=0)
        has_bd = any(c["breakdown"] is not None for c in data["cohorts"])
        header = (["breakdown"] if has_bd else []) + ["cohort", "size"] + [f"{data['period'][0]}{k}" for k in range(n)]
        rows = []
        for c in data["cohorts"]:
            size = c["size"]
            cells = [(f"{100 * v / size:.1f}%" if size else "-") if percent else v for v in c["values"]]
            rows.append(([c["breakdown"]] if has_bd else []) + [c["cohort"], size] + cells)
        return header, rows
    if metric == "lifecycle":
        keys = ["new", "returning", "resurrecting", "dormant"]
        return ["period", *keys], [[p, *(data[k][i] for k in keys)] for i, p in enumerate(data["periods"])]
    if metric == "active":
        keys = ["dau", "wau", "mau", "dau_mau"]
        return ["day", *keys], [[d, *(data[k][i] for k in keys)] for i, d in enumerate(data["days"])]
    if metric == "stickiness":
        return [f"{data['period']}s active", "persons"], [[k + 1, n] for k, n in enumerate(data["counts"])]
    if metric == "funnel":
        return (["step", "event", "count", "conversion", "avg_time_s", "median_time_s"],
                [[i + 1, s["event"], s["count"], f"{100 * s['conversion_rate']:.1f}%", s["avg_time_s"], s["median_time_s"]]
                 for i, s in enumerate(data["steps"])])
    if metric == "rfm":
        keys = ["person", "segment", "recency_days", "frequency", "monetary", "r", "f", "m"]
        return keys, [[p[k] for k in keys] for p in data["persons"]]
    if metric == "ltv":
        n = max((len(c["values"]) for c in data["cohorts"]), default=0)
        return (["cohort", "size"] + [f"{data['period'][0]}{k}" for k in range(n)],
                [[c["cohort"], c["size"], *c["values"]] for c in data["cohorts"]])
    keys = ["person", "last_active_day", "days_since_active", "active_days"]
    return keys + ["reasons"], [[p[k] for k in keys] + ["; ".join(p["reasons"])] for p in data["persons"]]


def render(metric: str, data: dict, fmt: str, percent: bool = True) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2)
    header, rows = tabulate(metric, data, percent and fmt == "table")
    return csv_text(header, rows) if fmt == "csv" else text_table(header, rows)


# ---- commands ----------------------------------------------------------------------------------
def _common(fn):
    fn = click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)(fn)
    fn = click.option("--project", default=None, help="may be omitted when the store holds one project")(fn)
    return remote_options(fn)


def _dates(fn):
    fn = click.option("--tz", default=None, help="IANA time zone (default UTC)")(fn)
    fn = click.option("--date-to", default=None, help="ISO date or date-time in --tz; its whole period is included")(fn)
    fn = click.option("--date-from", default=None, help="ISO date or date-time in --tz")(fn)
    return fn


def _run(metric: str, url, admin_key, fmt, params: list[tuple[str, object]], percent: bool = True,
         svg_path: str | None = None) -> None:
    clean = [(k, (str(v).lower() if isinstance(v, bool) else str(v))) for k, v in params if v is not None]
    data = fetch(url, admin_key, metric, clean)
    click.echo(render(metric, data, fmt, percent))
    if svg_path:
        draw = retention_svg if metric == "retention" else lifecycle_svg
        with open(svg_path, "w", encoding="utf-8") as fh:
            fh.write(draw(data))
        click.echo(f"picture written to {svg_path}", err=True)


def _svg_option(fn):
    return click.option("--svg", "svg_path", type=click.Path(dir_okay=False, writable=True), default=None,
                        help="also draw the answer as an SVG picture at this path")(fn)


@click.command()
@_common
@_dates
@click.option("--start-event", default=None, help="cohort event (default: any event)")
@click.option("--return-event", default=None, help="return event (default: any event)")
@click.option("--retention-type", type=click.Choice(["first_time", "recurring"]), default=None)
@click.option("--period", type=click.Choice(["hour", "day", "week", "month"]), default=None)
@click.option("--intervals", type=int, default=None)
@click.option("--week-start", type=click.Choice(["sunday", "monday"]), default=None)
@click.option("--cumulative/--no-cumulative", default=None)
@click.option("--window", type=click.Choice(["calendar", "rolling"]), default=None)
@click.option("--breakdown", default=None, help="event.<property>, person.<trait> or experiment.<property>")
@click.option("--counts", is_flag=True, help="print counts instead of percentages")
@_svg_option
def retention(url, admin_key, project, fmt, date_from, date_to, tz, start_event, return_event, retention_type,
              period, intervals, week_start, cumulative, window, breakdown, counts, svg_path):
    """Retention table: cohorts by start event, % retained per period."""
    _run("retention", url, admin_key, fmt, [
        ("project", project), ("date_from", date_from), ("date_to", date_to), ("tz", tz), ("start_event", start_event),
        ("return_event", return_event), ("retention_type", retention_type), ("period", period),
        ("intervals", intervals), ("week_start", week_start), ("cumulative", cumulative), ("window", window),
        ("breakdown", breakdown)], percent=not counts, svg_path=svg_path)


@click.command()
@_common
@_dates
@click.option("--event", default=None, help="default: any event")
@click.option("--period", type=click.Choice(["hour", "day", "week", "month"]), default=None)
@click.option("--new-anchor", type=click.Choice(["first_event", "register"]), default=None)
@_svg_option
def lifecycle(url, admin_key, project, fmt, date_from, date_to, tz, event, period, new_anchor, svg_path):
    """New / returning / resurrecting / dormant persons per period."""
    _run("lifecycle", url, admin_key, fmt, [("project", project), ("date_from", date_from), ("date_to", date_to),
                                            ("tz", tz), ("event", event), ("period", period), ("new_anchor", new_anchor)],
         svg_path=svg_path)


@click.command()
@_common
@_dates
@click.option("--event", default=None)
def active(url, admin_key, project, fmt, date_from, date_to, tz, event):
    """DAU / WAU / MAU per day and DAU/MAU."""
    _run("active", url, admin_key, fmt, [("project", project), ("date_from", date_from), ("date_to", date_to),
                                         ("tz", tz), ("event", event)])


@click.command()
@_common
@_dates
@click.option("--event", default=None)
@click.option("--period", type=click.Choice(["hour", "day", "week", "month"]), default=None)
def stickiness(url, admin_key, project, fmt, date_from, date_to, tz, event, period):
    """Persons active in exactly k periods of the range."""
    _run("stickiness", url, admin_key, fmt, [("project", project), ("date_from", date_from), ("date_to", date_to),
                                             ("tz", tz), ("event", event), ("period", period)])


@click.command()
@_common
@_dates
@click.option("--step", "steps", multiple=True, required=True, help="one per step, in order")
@click.option("--order", type=click.Choice(["ordered", "strict", "unordered"]), default=None)
@click.option("--window", default=None, help="conversion window like 14d, 2h (default 14d)")
def funnel(url, admin_key, project, fmt, date_from, date_to, tz, steps, order, window):
    """Funnel: persons per step, conversion, time between steps."""
    _run("funnel", url, admin_key, fmt, [("project", project), ("date_from", date_from), ("date_to", date_to),
                                         ("tz", tz), ("order", order), ("window", window)]
         + [("step", s) for s in steps])


@click.command()
@_common
@click.option("--as-of", default=None, help="ISO date-time (default now)")
@click.option("--limit", type=int, default=None)
def rfm(url, admin_key, project, fmt, as_of, limit):
    """RFM scores and segments of purchasers."""
    _run("rfm", url, admin_key, fmt, [("project", project), ("as_of", as_of), ("limit", limit)])


@click.command()
@_common
@_dates
@click.option("--period", type=click.Choice(["hour", "day", "week", "month"]), default=None)
@click.option("--intervals", type=int, default=None)
@click.option("--anchor", type=click.Choice(["first_event", "register"]), default=None)
def ltv(url, admin_key, project, fmt, date_from, date_to, tz, period, intervals, anchor):
    """Average cumulative revenue per person by cohort age."""
    _run("ltv", url, admin_key, fmt, [("project", project), ("date_from", date_from), ("date_to", date_to), ("tz", tz),
                                      ("period", period), ("intervals", intervals), ("anchor", anchor)])


@click.command("churn-risk")
@_common
@click.option("--as-of", default=None)
@click.option("--gap-factor", type=float, default=None)
@click.option("--limit", type=int, default=None)
def churn_risk(url, admin_key, project, fmt, as_of, gap_factor, limit):
    """Persons whose activity fell against their own history, with reasons."""
    _run("churn-risk", url, admin_key, fmt, [("project", project), ("as_of", as_of), ("gap_factor", gap_factor),
                                             ("limit", limit)])


commands = [retention, lifecycle, active, stickiness, funnel, rfm, ltv, churn_risk]
