"""Typed properties of the four lifecycle events, and the Segment semantic names that map onto them.

| canonical  | also accepted (Segment spec)   | properties                                                     |
|------------|--------------------------------|----------------------------------------------------------------|
| `register` | `Signed Up`                    | `method`                                                       |
| `login`    | `Signed In`                    | `method`                                                       |
| `click`    | `Element Clicked`              | `element` or `target` (one required), `page` or `screen`       |
| `purchase` | `Order Completed`              | `order_id`, `revenue` (>= 0), `currency` (ISO-4217), `items`   |

Every other event name is a custom event with free-form properties. The collector stores the
canonical name in `events.event` and the name as sent in `events.sent_event`, so a retention query
for `register` also counts Segment's `Signed Up`.

Extra properties are allowed on every type (Segment's `Order Completed` carries `products`, `total`...).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec

Text = Annotated[str, msgspec.Meta(max_length=1024)]
#: `events.revenue` is Decimal(18, 4): amounts must stay below 10^14.
MAX_AMOUNT = Decimal(10) ** 14
Currency = Annotated[str, msgspec.Meta(pattern="^[A-Za-z]{3}$")]


class RegisterProperties(msgspec.Struct, kw_only=True):
    method: Text | None = None


class LoginProperties(msgspec.Struct, kw_only=True):
    method: Text | None = None


class ClickProperties(msgspec.Struct, kw_only=True):
    element: Text | None = None
    target: Text | None = None
    page: Text | None = None
    screen: Text | None = None

    def __post_init__(self) -> None:
        if self.element is None and self.target is None:
            raise ValueError("either `element` or `target` is required")


class PurchaseItem(msgspec.Struct, kw_only=True):
    sku: Text
    price: Decimal
    quantity: Annotated[int, msgspec.Meta(ge=1)] = 1

    def __post_init__(self) -> None:
        if not self.price.is_finite() or self.price < 0 or self.price >= MAX_AMOUNT:
            raise ValueError("`price` must be a non-negative decimal below 10^14")


class PurchaseProperties(msgspec.Struct, kw_only=True):
    order_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    revenue: Decimal
    currency: Currency
    items: list[PurchaseItem] | None = None

    def __post_init__(self) -> None:
        # msgspec cannot put `ge` on Decimal, so the bound is checked here; decoding still names the path.
        if not self.revenue.is_finite() or self.revenue < 0 or self.revenue >= MAX_AMOUNT:
            raise ValueError("`revenue` must be a non-negative decimal below 10^14")
        self.currency = self.currency.upper()


LIFECYCLE_PROPERTIES: dict[str, type[msgspec.Struct]] = {
    "register": RegisterProperties,
    "login": LoginProperties,
    "click": ClickProperties,
    "purchase": PurchaseProperties,
}

#: Event name as sent -> canonical lifecycle name.
CANONICAL_EVENT: dict[str, str] = {
    "register": "register",
    "Signed Up": "register",
    "login": "login",
    "Signed In": "login",
    "click": "click",
    "Element Clicked": "click",
    "purchase": "purchase",
    "Order Completed": "purchase",
}
