"""The HTTP routes and the CLI against the real session collector (a random week of 1998 keeps other
tests' events out of the answers)."""

from __future__ import annotations

import json
import random
import urllib.parse
import uuid
from datetime import date, timedelta

import pytest
from click.testing import CliRunner

from tenure.analytics.cli import commands

CLI = {c.name: c for c in commands}


@pytest.fixture(scope="module")
def seeded(collector):
    """Two users: u1 on day 0 and day 1 (one event sent under an anonymous id joined later), u2 on day 0."""
    day0 = date(1998, 1, 4) + timedelta(weeks=random.randrange(50))
    tag = uuid.uuid4().hex[:8]
    u1, u2, anon = f"u1-{tag}", f"u2-{tag}", f"a-{tag}"

    def msg(day, hour, **kw):
        return {"messageId": str(uuid.uuid4()), "timestamp": f"{(day0 + timedelta(days=day)).isoformat()}T{hour:02d}:00:00Z", **kw}

    batch = [msg(0, 10, type="track", event="view", userId=u1), msg(0, 11, type="track", event="view", userId=u2),
             msg(0, 12, type="track", event="click", userId=u2, properties={"element": "b"}),
             msg(1, 10, type="page", anonymousId=anon),
             msg(2, 10, type="identify", anonymousId=anon, userId=u1, traits={"plan": "pro"})]
    assert collector.post("/v1/batch", {"batch": batch}).status == 200
    sql = (f"SELECT count() FROM tenure.events WHERE message_id IN ({', '.join(repr(m['messageId']) for m in batch)})")
    assert collector.wait_for(sql, [[5]]) == [[5]]
    collector.wait_for(f"SELECT count() FROM tenure.identity_map WHERE anonymous_id = '{anon}'", [[1]])
    return collector, day0


def get(collector, metric, params, key="admin"):
    headers = {"Authorization": f"Bearer {collector.admin_key}"} if key == "admin" else {}
    return collector.request("GET", f"/v1/insights/{metric}?" + urllib.parse.urlencode(params), headers=headers)


def test_retention_over_http(seeded):
    collector, day0 = seeded
    resp = get(collector, "retention", [("project", "test"), ("date_to", (day0 + timedelta(days=2)).isoformat()),
                                        ("intervals", "3"), ("breakdown", "person.plan")])
    assert resp.status == 200, resp.body
    rows = {(c["breakdown"], c["cohort"][:10]): c["values"] for c in resp.json()["cohorts"]}
    assert rows[("pro", day0.isoformat())] == [1, 1, 0]
    assert rows[(None, day0.isoformat())] == [1, 0, 0]


def test_funnel_over_http_repeated_steps(seeded):
    collector, day0 = seeded
    resp = get(collector, "funnel", [("step", "view"), ("step", "click"), ("window", "2h"),
                                     ("date_from", day0.isoformat()), ("date_to", day0.isoformat())])
    assert resp.status == 200, resp.body   # project omitted: the collector serves one project
    assert [(s["event"], s["count"], s["median_time_s"]) for s in resp.json()["steps"]] == [
        ("view", 2, None), ("click", 1, 3600.0)]


def test_bad_parameters_answer_400_with_the_field(seeded):
    collector, _ = seeded
    resp = get(collector, "retention", [("intervals", "ten")])
    assert (resp.status, resp.json()) == (400, {"success": False, "error": "intervals: must be an integer, not 'ten'",
                                                "field": "intervals"})
    resp = get(collector, "lifecycle", [("colour", "blue")])
    assert (resp.status, resp.json()["error"]) == (400, "colour: unknown parameter for lifecycle")
    resp = get(collector, "funnel", [("order", "ordered")])
    assert (resp.status, resp.json()["field"]) == (400, "step")


def test_insights_need_the_admin_key(seeded):
    collector, _ = seeded
    assert get(collector, "retention", [], key=None).status == 401


def test_cli_prints_percentages_json_and_csv(seeded):
    collector, day0 = seeded
    base = ["--url", collector.url, "--admin-key", collector.admin_key, "--project", "test",
            "--date-to", (day0 + timedelta(days=1)).isoformat()]
    runner = CliRunner()
    out = runner.invoke(CLI["retention"], base + ["--intervals", "2"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].split() == ["cohort", "size", "d0", "d1"]
    assert lines[2].split() == [f"{day0.isoformat()}T00:00:00+00:00", "2", "100.0%", "50.0%"]
    out = runner.invoke(CLI["lifecycle"], base + ["--date-from", day0.isoformat(), "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["new"] == [2, 0]
    out = runner.invoke(CLI["lifecycle"], base + ["--date-from", day0.isoformat(), "--format", "csv"])
    assert out.output.splitlines()[0] == "period,new,returning,resurrecting,dormant"
    assert out.output.splitlines()[2].endswith(",0,1,0,-1")


def test_cli_reports_http_errors(seeded):
    collector, _ = seeded
    out = CliRunner().invoke(CLI["retention"], ["--url", collector.url, "--admin-key", collector.admin_key,
                                                "--period", "day", "--tz", "Nowhere/City"])
    assert out.exit_code == 1
    assert "retention: HTTP 400: tz: unknown time zone 'Nowhere/City'" in out.output


def test_cli_draws_retention_and_lifecycle_pictures(seeded, tmp_path):
    import xml.etree.ElementTree as ET

    collector, day0 = seeded
    base = ["--url", collector.url, "--admin-key", collector.admin_key, "--project", "test",
            "--date-to", (day0 + timedelta(days=1)).isoformat()]
    svg = tmp_path / "retention.svg"
    out = CliRunner().invoke(CLI["retention"], base + ["--intervals", "2", "--svg", str(svg)])
    assert out.exit_code == 0, out.output
    ns = {"s": "http://www.w3.org/2000/svg"}
    root = ET.parse(svg).getroot()
    cells = root.findall("s:rect[@fill='#1565c0']", ns)
    assert len(cells) == 2 * 2  # two cohorts (day 0, day 1) x two intervals
    assert [c.find("s:title", ns).text for c in cells[:2]] == ["2 of 2", "1 of 2"]
    texts = [t.text for t in root.findall("s:text", ns)]
    assert "100.0%" in texts and "50.0%" in texts
    svg = tmp_path / "lifecycle.svg"
    out = CliRunner().invoke(CLI["lifecycle"], base + ["--date-from", day0.isoformat(), "--svg", str(svg)])
    assert out.exit_code == 0, out.output
    titles = [t.text for t in ET.parse(svg).getroot().iter("{http://www.w3.org/2000/svg}title")]
    assert f"{day0.isoformat()}T00:00:00+00:00 new: 2" in titles
