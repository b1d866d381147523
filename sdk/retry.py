"""When to retry a batch and how long to wait: plain functions, no I/O, shared by both trackers.

The sync tracker sleeps on an Event and the async one on `asyncio.sleep`; both ask `RetryState`
what to do after each attempt, so the policy exists once and is tested without a network.

Policy: network errors, 5xx, 408 and 429 are retried with exponential backoff and full jitter
(AWS's "full jitter": wait uniform(0, min(cap, base * 2**attempt))), so a fleet of SDKs that saw
the same outage does not come back in lock step. A `Retry-After` header (seconds or HTTP date)
replaces the computed wait. Any other status is final: retrying a 400/401/413 cannot succeed.
Everything stops when the next wait would end past the batch's total budget.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Callable

from .config import RetryPolicy

RETRYABLE_4XX = frozenset({408, 429})


def is_retryable(status: int | None) -> bool:
    """None stands for a network error (no answer at all), which is always worth another try."""
    return status is None or status >= 500 or status in RETRYABLE_4XX


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value (delta-seconds or an HTTP date); None if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff(attempt: int, policy: RetryPolicy, rand: Callable[[], float] = random.random) -> float:
    """Full-jitter wait before retry number `attempt` (0 for the first retry)."""
    ceiling = min(policy.max_backoff, policy.initial_backoff * (2 ** min(attempt, 30)))
    return ceiling * rand()


@dataclass(slots=True)
class Outcome:
    """What one attempt produced: an HTTP status, or `error` for a network failure."""

    status: int | None
    body: bytes = b""
    retry_after: str | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200


class RetryState:
    """The retry decision for one batch across its attempts.

    `next_wait(outcome)` returns None when the outcome is final (success, a non-retryable status,
    or the budget is spent) and otherwise the seconds to wait before the next attempt.
    """

    __slots__ = ("policy", "attempt", "deadline", "_clock", "_rand")

    def __init__(
        self,
        policy: RetryPolicy,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy
        self.attempt = 0
        self._clock = clock
        self._rand = rand
        self.deadline = clock() + policy.max_retry_time

    def next_wait(self, outcome: Outcome) -> float | None:
        if outcome.ok or not is_retryable(outcome.status):
            return None
        wait = parse_retry_after(outcome.retry_after)
        if wait is None:
            wait = backoff(self.attempt, self.policy, self._rand)
        self.attempt += 1
        if self._clock() + wait > self.deadline:
            return None
        return wait

    def exhausted(self, outcome: Outcome) -> bool:
        """After `next_wait` returned None: was it because retrying was pointless or ran out?"""
        return not outcome.ok and is_retryable(outcome.status)
