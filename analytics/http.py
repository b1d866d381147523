"""GET /v1/insights/{metric}: the analytics functions over HTTP (admin key; the collector's
middleware checks it for every /v1/insights path).

Query parameters carry the function arguments by name (see docs/analytics.md for each metric);
the blocking ClickHouse work runs in the store's worker thread via `store.run_readonly` (a client
that cannot write). A bad parameter
answers 400 `{"success": false, "error": "<name>: <reason>", "field": "<name>"}`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from aiohttp import web
from clickhouse_connect.driver.exceptions import ClickHouseError

from tenure.collector.appkeys import KEYS_KEY, STORE_KEY

from .active import active, stickiness
from .funnel import funnel
from .lifecycle import lifecycle
from .retention import retention
from .value import churn_risk, ltv, rfm
from .errors import InvalidParameter

routes = web.RouteTableDef()


def _bool(name: str, text: str) -> bool:
    if text.lower() in ("true", "1", "yes", "on"):
        return True
    if text.lower() in ("false", "0", "no", "off", ""):
        return False
    raise InvalidParameter(name, f"must be true or false, not {text!r}")


def _int(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidParameter(name, f"must be an integer, not {text!r}") from None


def _float(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidParameter(name, f"must be a number, not {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise InvalidParameter(name, f"must be a positive number, not {text!r}")
    return value


def _count(name: str, text: str) -> int:
    """A non-negative integer: limits and day counts."""
    value = _int(name, text)
    if value < 0:
        raise InvalidParameter(name, f"must be 0 or more, not {value}")
    return value


def _filters(name: str, values: list[str]) -> dict[str, str]:
    """Repeated `name=prop:value` -> {prop: value}."""
    out = {}
    for item in values:
        prop, sep, value = item.partition(":")
        if not sep or not prop:
            raise InvalidParameter(name, f"must look like <property>:<value>, not {item!r}")
        out[prop] = value
    return out


# parameter name -> converter; absent parameters keep the function's default
_COMMON = {"project": str, "tz": str, "date_from": str, "date_to": str}
_PARAMS: dict[str, dict[str, Callable]] = {
    "retention": {**_COMMON, "start_event": str, "return_event": str, "retention_type": str, "period": str,
                  "intervals": _int, "week_start": str, "cumulative": _bool, "window": str, "breakdown": str,
                  "source": str},
    "lifecycle": {**_COMMON, "event": str, "period": str, "intervals": _int, "week_start": str,
                  "new_anchor": str, "source": str},
    "active": {**_COMMON, "event": str, "intervals": _int, "source": str},
    "stickiness": {**_COMMON, "event": str, "period": str, "intervals": _int, "week_start": str, "source": str},
    "funnel": {**_COMMON, "order": str, "window": str, "intervals": _int},
    "rfm": {"project": str, "as_of": str, "limit": _count},
    "ltv": {**_COMMON, "period": str, "intervals": _int, "week_start": str, "anchor": str, "source": str},
    "churn-risk": {"project": str, "as_of": str, "gap_factor": _float, "min_active_days": _count,
                   "lookback_days": _count, "limit": _count},
}
_FUNCTIONS = {
    "retention": retention,
    "lifecycle": lifecycle,
    "active": active,
    "stickiness": stickiness,
    "funnel": funnel,
    "rfm": rfm,
    "ltv": ltv,
    "churn-risk": churn_risk,
}


def arguments(metric: str, query) -> dict:
    """Function keyword arguments from a multidict of query parameters (unknown names are refused)."""
    spec = _PARAMS[metric]
    kwargs: dict = {}
    for name in set(query.keys()):
        values = query.getall(name)
        if metric == "funnel" and name == "step":
            kwargs["steps"] = list(values)
            continue
        if metric == "retention" and name in ("start_filter", "return_filter"):
            kwargs[name + "s"] = _filters(name, values)
            continue
        if name not in spec:
            raise InvalidParameter(name, f"unknown parameter for {metric}")
        if len(values) > 1:
            raise InvalidParameter(name, "given more than once")
        kwargs[name] = spec[name](name, values[0]) if spec[name] is not str else values[0]
    if metric == "funnel" and "steps" not in kwargs:
        raise InvalidParameter("step", "give one step=<event name> per step, in order")
    return kwargs


def _call(client, fn, kwargs):
    project = kwargs.pop("project", None)
    return fn(client, project, **kwargs)


def _handler(metric: str):
    async def handle(request: web.Request) -> web.Response:
        try:
            kwargs = arguments(metric, request.query)
            known = request.app[KEYS_KEY].projects
            if kwargs.get("project") is not None and kwargs["project"] not in known:
                raise InvalidParameter("project", f"unknown project {kwargs['project']!r}; known: {', '.join(known)}")
            store = request.app[STORE_KEY]
            body = await store.run_readonly(_call, _FUNCTIONS[metric], kwargs)
        except InvalidParameter as exc:
            return web.json_response({"success": False, "error": str(exc), "field": exc.name}, status=400)
        except (ValueError, OverflowError) as exc:  # a parameter the calendar cannot hold (year 10000...)
            return web.json_response({"success": False, "error": f"invalid parameters: {exc}"}, status=400)
        except ClickHouseError as exc:  # e.g. a window so long the query passes ClickHouse's limits
            message = next((line for line in str(exc).splitlines() if "DB::Exception" in line), str(exc))
            return web.json_response({"success": False, "error": f"query failed: {message.strip()}"}, status=400)
        return web.json_response(body)

    handle.__name__ = f"insights_{metric.replace('-', '_')}"
    return handle


for _metric in _FUNCTIONS:
    routes.get(f"/v1/insights/{_metric}")(_handler(_metric))
