"""OpenAPI 3.1 description of GET /v1/insights/*, for the collector's spec to merge (`PATHS`)."""

from __future__ import annotations

from .http import _FUNCTIONS, _PARAMS

_DESCRIPTIONS = {
    "retention": "Retention table. `cohorts` oldest first, every period of the window (empty ones size 0), each "
                 "with exactly `intervals` values; values[0] = cohort size, values[k] = persons of the cohort "
                 "who did the return event in period cohort+k (0 past the window; cumulative: k or later).",
    "lifecycle": "New / returning / resurrecting / dormant persons per period from date_from to date_to "
                 "inclusive; dormant as negative counts.",
    "active": "DAU, WAU, MAU (trailing 1/7/30 days) per day and DAU/MAU.",
    "stickiness": "counts[k-1] = persons active in exactly k periods of the range.",
    "funnel": "Per step: persons reaching it, conversion_rate from step 1, avg_time_s and median_time_s "
              "from the previous step. One `step=<event>` per step, in order.",
    "rfm": "Recency/frequency/monetary per purchaser, quintile scores 1-5 and segment.",
    "ltv": "Average cumulative revenue per cohort person by cohort age; null past the window.",
    "churn-risk": "Persons whose activity fell against their own history, with reasons and last active day.",
}
_ENUMS = {
    "retention_type": ["first_time", "recurring"], "period": ["hour", "day", "week", "month"],
    "week_start": ["sunday", "monday"], "window": ["calendar", "rolling"], "order": ["ordered", "strict", "unordered"],
    "new_anchor": ["first_event", "register"], "anchor": ["first_event", "register"], "source": ["compact", "raw"],
}


def _schema(metric: str, name: str, conv) -> dict:
    if metric == "funnel" and name == "window":
        return {"type": "string", "pattern": r"^\d+[smhdw]$", "default": "14d"}
    if name in _ENUMS:
        return {"type": "string", "enum": _ENUMS[name]}
    if name == "cumulative":
        return {"type": "boolean"}
    return {"type": {"_int": "integer", "_float": "number"}.get(getattr(conv, "__name__", ""), "string")}


def _parameters(metric: str) -> list[dict]:
    params = [{"name": name, "in": "query", "required": False, "schema": _schema(metric, name, conv)}
              for name, conv in _PARAMS[metric].items()]
    if metric == "funnel":
        params.append({"name": "step", "in": "query", "required": True, "explode": True,
                       "schema": {"type": "array", "items": {"type": "string"}, "minItems": 2}})
    if metric == "retention":
        for name in ("start_filter", "return_filter"):
            params.append({"name": name, "in": "query", "required": False, "explode": True,
                           "description": "property:value equality filter, repeatable",
                           "schema": {"type": "array", "items": {"type": "string"}}})
    return params


PATHS: dict = {
    f"/v1/insights/{metric}": {"get": {
        "summary": _DESCRIPTIONS[metric].split(".")[0],
        "description": _DESCRIPTIONS[metric] + " Shapes and definitions: docs/analytics.md.",
        "security": [{"adminKey": []}],
        "parameters": _parameters(metric),
        "responses": {"200": {"description": "the answer (JSON object)"},
                      "400": {"description": '{"success": false, "error": "<name>: <reason>", "field": "<name>"}'},
                      "401": {"description": "missing or wrong admin key"}},
    }}
    for metric in _FUNCTIONS
}
