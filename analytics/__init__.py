"""Retention and lifecycle analytics over the compact tables of 002_analytics.sql.

Every function takes a clickhouse-connect client (embedded chDB or a server) and returns plain
data (dicts, lists, numbers, ISO strings), so the same calls serve notebooks, the HTTP API
(`tenure.analytics.http`) and the CLI (`tenure.analytics.cli`). Definitions: docs/analytics.md.
"""

from .active import active, stickiness
from .errors import AnalyticsError, InvalidParameter
from .funnel import funnel
from .lifecycle import lifecycle
from .retention import retention, summary as retention_summary
from .value import churn_risk, ltv, rfm

__all__ = ["active", "stickiness", "funnel", "lifecycle", "retention", "retention_summary", "rfm", "ltv",
           "churn_risk", "AnalyticsError", "InvalidParameter"]
