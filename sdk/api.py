"""The call surface both trackers expose: one method per Segment message type, plus typed helpers.

Every method builds a fresh dict holding the caller's own objects (no copy), hands it to
`encode.build` and passes the bytes to the tracker's `_submit`. All of it runs on the caller's
thread and never blocks: `track()` is not a coroutine on the `AsyncTracker` either.

Helpers (`register`, `login`, `click`, `purchase`) are `track` calls whose properties are checked
with the collector's `tenure.schema.lifecycle` Structs first; so is any `track()` whose event is a
lifecycle name (`purchase`, `Order Completed`...). A bad call raises `ValidationError` here.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping

from .config import Options
from tenure.schema.lifecycle import CANONICAL_EVENT

from .encode import build, check_lifecycle
from .errors import ValidationError

Timestamp = datetime | str | None


def _mapping(value: Any, path: str) -> Any:
    if value is not None and not isinstance(value, Mapping):
        raise ValidationError(f"Expected `object`, got `{type(value).__name__}`", path)
    return value


class TrackerAPI:
    """Mixin: needs `self._options` and `self._submit(data: bytes)`."""

    _options: Options

    def _submit(self, data: bytes) -> None:  # pragma: no cover - provided by the tracker
        raise NotImplementedError

    def _emit(self, kind: str, fields: dict[str, Any], user_id: Any, anonymous_id: Any,
              context: Any, timestamp: Timestamp, message_id: str | None) -> str:
        if context is not None:
            _mapping(context, "$.context")
        data = build(kind, fields, user_id, anonymous_id, context, timestamp, message_id,
                     self._options.max_message_bytes)
        self._submit(data)
        return fields["messageId"]

    def track(self, event: str, *, user_id: Any = None, anonymous_id: Any = None,
              properties: Mapping[str, Any] | None = None, context: Mapping[str, Any] | None = None,
              timestamp: Timestamp = None, message_id: str | None = None) -> str:
        """Queue a track message; returns its messageId. Raises ValidationError on a bad call."""
        fields: dict[str, Any] = {"event": event}
        if properties is not None:
            fields["properties"] = properties
            if type(properties) is not dict and not isinstance(properties, Mapping):
                _mapping(properties, "$.properties")
        if type(event) is str and event in CANONICAL_EVENT:  # lifecycle names: typed properties
            check_lifecycle(event, properties)
        return self._emit("track", fields, user_id, anonymous_id, context, timestamp, message_id)

    def identify(self, user_id: Any, traits: Mapping[str, Any] | None = None, *,
                 anonymous_id: Any = None, context: Mapping[str, Any] | None = None,
                 timestamp: Timestamp = None, message_id: str | None = None) -> str:
        fields: dict[str, Any] = {}
        if traits is not None:
            fields["traits"] = _mapping(traits, "$.traits")
        return self._emit("identify", fields, user_id, anonymous_id, context, timestamp, message_id)

    def alias(self, previous_id: Any, user_id: Any, *, context: Mapping[str, Any] | None = None,
              timestamp: Timestamp = None, message_id: str | None = None) -> str:
        if previous_id is None or user_id is None:
            raise ValidationError("alias needs both previous_id and user_id",
                                  "$.previousId" if previous_id is None else "$.userId")
        return self._emit("alias", {"previousId": previous_id}, user_id, None, context, timestamp,
                          message_id)

    def group(self, group_id: Any, traits: Mapping[str, Any] | None = None, *, user_id: Any = None,
              anonymous_id: Any = None, context: Mapping[str, Any] | None = None,
              timestamp: Timestamp = None, message_id: str | None = None) -> str:
        fields: dict[str, Any] = {"groupId": group_id}
        if traits is not None:
            fields["traits"] = _mapping(traits, "$.traits")
        return self._emit("group", fields, user_id, anonymous_id, context, timestamp, message_id)

    def page(self, name: str | None = None, properties: Mapping[str, Any] | None = None, *,
             user_id: Any = None, anonymous_id: Any = None, category: str | None = None,
             context: Mapping[str, Any] | None = None, timestamp: Timestamp = None,
             message_id: str | None = None) -> str:
        return self._emit("page", _named(name, category, properties), user_id, anonymous_id,
                          context, timestamp, message_id)

    def screen(self, name: str | None = None, properties: Mapping[str, Any] | None = None, *,
               user_id: Any = None, anonymous_id: Any = None, category: str | None = None,
               context: Mapping[str, Any] | None = None, timestamp: Timestamp = None,
               message_id: str | None = None) -> str:
        return self._emit("screen", _named(name, category, properties), user_id, anonymous_id,
                          context, timestamp, message_id)

    # -- typed lifecycle helpers --------------------------------------------------------------
    def register(self, user_id: Any, *, method: str | None = None, anonymous_id: Any = None,
                 properties: Mapping[str, Any] | None = None, **common: Any) -> str:
        """A `register` (sign-up) event: the start of a user's life for retention queries."""
        return self.track("register", user_id=user_id, anonymous_id=anonymous_id,
                          properties=_extra(properties, method=method), **common)

    def login(self, user_id: Any, *, method: str | None = None, anonymous_id: Any = None,
              properties: Mapping[str, Any] | None = None, **common: Any) -> str:
        return self.track("login", user_id=user_id, anonymous_id=anonymous_id,
                          properties=_extra(properties, method=method), **common)

    def click(self, user_id: Any = None, *, element: str | None = None, target: str | None = None,
              page: str | None = None, screen: str | None = None, anonymous_id: Any = None,
              properties: Mapping[str, Any] | None = None, **common: Any) -> str:
        """A `click`; one of `element` or `target` is required."""
        props = _extra(properties, element=element, target=target, page=page, screen=screen)
        return self.track("click", user_id=user_id, anonymous_id=anonymous_id, properties=props,
                          **common)

    def purchase(self, user_id: Any, *, order_id: str | None = None,
                 revenue: Decimal | int | float | str | None = None,
                 currency: str | None = None, items: list[Mapping[str, Any]] | None = None,
                 anonymous_id: Any = None, properties: Mapping[str, Any] | None = None,
                 **common: Any) -> str:
        """A `purchase`: order_id, revenue >= 0 and an ISO-4217 currency are required and checked.

        They default to None only so that leaving one out is a `ValidationError` naming the field
        (`$.properties.order_id`), like every other bad value, rather than a bare TypeError.
        """
        if isinstance(revenue, str):
            try:
                revenue = Decimal(revenue)
            except ArithmeticError:
                raise ValidationError("Expected a decimal number", "$.properties.revenue") from None
        if isinstance(currency, str):
            currency = currency.upper()
        props = _extra(properties, order_id=order_id, revenue=revenue, currency=currency,
                       items=items)
        return self.track("purchase", user_id=user_id, anonymous_id=anonymous_id,
                          properties=props, **common)


def _named(name: str | None, category: str | None, properties: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if name is not None:
        fields["name"] = name
    if category is not None:
        fields["category"] = category
    if properties is not None:
        fields["properties"] = _mapping(properties, "$.properties")
    return fields


def _extra(properties: Any, **typed: Any) -> dict[str, Any]:
    """The helper's typed fields over the caller's extra properties (None values left out)."""
    out = dict(_mapping(properties, "$.properties") or {})
    for key, value in typed.items():
        if value is not None:
            out[key] = value
    return out
