"""Errors of tenure.analytics.

    AnalyticsError
    └── InvalidParameter   a query parameter is missing, malformed or out of range (HTTP 400)
"""

from __future__ import annotations


class AnalyticsError(Exception):
    """Base of every error raised by tenure.analytics."""


class InvalidParameter(AnalyticsError, ValueError):
    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason
