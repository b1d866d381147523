"""`/v1/query`: analysts' SQL runs read-only and bounded; refusals name ClickHouse's reason."""

from __future__ import annotations

import time

import pytest


@pytest.mark.parametrize("sql", [
    "INSERT INTO tenure.events (project, message_id) VALUES ('test', 'evil')",
    "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    "SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')",
    "DROP TABLE tenure.events",
    "CREATE TABLE tenure.x (a Int8) ENGINE = Memory",
    "SET readonly = 0",
    "SELECT 1 SETTINGS readonly = 0",
    "ALTER TABLE tenure.events DELETE WHERE 1",
])
def test_query_refuses_writes_and_table_functions(collector, sql):
    resp = collector.admin("/v1/query", {"sql": sql})
    assert resp.status == 400
    assert "(READONLY)" in resp.json()["error"]


def test_writes_still_work_after_refused_queries(collector):
    collector.admin("/v1/query", {"sql": "INSERT INTO tenure.events (project) VALUES ('x')", "format": "csv"})
    message_id = f"after-refusal-{time.time_ns()}"
    assert collector.post("/v1/batch", {"batch": [{"type": "track", "event": "x", "userId": "u", "messageId": message_id}]}).status == 200
    assert collector.wait_for(f"SELECT count() FROM tenure.events WHERE message_id = '{message_id}'", [[1]]) == [[1]]


def test_query_json_and_csv(collector):
    resp = collector.admin("/v1/query", {"sql": "SELECT 1 AS one, 'a' AS letter, toDecimal64(1.5, 2) AS d"})
    body = resp.json()
    assert body["columns"] == ["one", "letter", "d"] and body["rows"] == [[1, "a", 1.5]]
    assert body["elapsed_ms"] >= 0
    csv = collector.admin("/v1/query", {"sql": "SELECT 1 AS one, 'a' AS letter", "format": "csv"})
    assert csv.status == 200 and csv.body.decode() == '"one","letter"\n1,"a"\n'


def test_query_errors_are_400_with_clickhouse_message(collector):
    resp = collector.admin("/v1/query", {"sql": "SELECT no_such_column FROM tenure.events"})
    assert resp.status == 400
    assert "UNKNOWN_IDENTIFIER" in resp.json()["error"]
    bad_format = collector.admin("/v1/query", {"sql": "SELECT 1", "format": "xml"})
    assert bad_format.status == 400 and bad_format.json() == {"success": False, "error": "format must be json or csv", "field": "$.format"}


def test_query_row_limit(collector):
    resp = collector.admin("/v1/query", {"sql": "SELECT number FROM numbers(1000000)"})
    assert resp.status == 400
    assert "TOO_MANY_ROWS_OR_BYTES" in resp.json()["error"]


@pytest.mark.parametrize("params", [
    "breakdown=event.a%60%20FROM%20x%20--",  # a backquote trying to close the identifier
    "breakdown=event.a%5C",  # a trailing backslash trying to escape the closing backquote
    "start_filter=p%5C%27:1%27%20OR%201%3D1%20--",  # quote and backslash in a filter
    "start_event=x%27%3B%20DROP%20TABLE%20tenure.events%20--",
])
def test_insights_parameters_cannot_inject_sql(collector, params):
    before = collector.query("SELECT count() FROM tenure.events")[0][0]
    resp = collector.request("GET", f"/v1/insights/retention?{params}&date_to=2024-01-10&intervals=3",
                             headers={"Authorization": f"Bearer {collector.admin_key}"})
    assert resp.status in (200, 400), resp.body
    if resp.status == 200:
        assert all(c["size"] == 0 for c in resp.json()["cohorts"])
    assert collector.query("SELECT count() FROM tenure.events")[0][0] >= before
    assert collector.query("EXISTS TABLE tenure.events") == [[1]]


@pytest.mark.parametrize("params", [
    "date_to=9999-12-31&period=month&intervals=3",
    "intervals=5000&date_to=2024-01-01",
])
def test_insights_edge_parameters_answer_json_400(collector, params):
    metric = "retention" if "period" in params else "active"
    resp = collector.request("GET", f"/v1/insights/{metric}?{params}", headers={"Authorization": f"Bearer {collector.admin_key}"})
    assert resp.status == 400, resp.body
    assert resp.json()["success"] is False and resp.json()["error"]


@pytest.mark.parametrize("path,field,error", [
    ("retention?project=nonexist", "project", "project: unknown project 'nonexist'; known: test"),
    ("churn-risk?gap_factor=nan", "gap_factor", "gap_factor: must be a positive number, not 'nan'"),
    ("rfm?limit=-1", "limit", "limit: must be 0 or more, not -1"),
])
def test_insights_parameters_are_checked(collector, path, field, error):
    resp = collector.request("GET", f"/v1/insights/{path}", headers={"Authorization": f"Bearer {collector.admin_key}"})
    assert resp.status == 400
    assert resp.json() == {"success": False, "error": error, "field": field}


def test_retention_with_an_empty_breakdown_still_lists_every_cohort(collector):
    resp = collector.request("GET", "/v1/insights/retention?date_to=1990-01-10&intervals=3&breakdown=event.nothing",
                             headers={"Authorization": f"Bearer {collector.admin_key}"})
    assert resp.status == 200, resp.body
    cohorts = resp.json()["cohorts"]
    assert [c["cohort"][:10] for c in cohorts] == ["1990-01-08", "1990-01-09", "1990-01-10"]
    assert all(c["size"] == 0 and c["values"] == [0, 0, 0] and c["breakdown"] is None for c in cohorts)
