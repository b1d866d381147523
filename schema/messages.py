"""Segment-spec messages as msgspec Structs: the one definition the collector and the SDK share.

Why Structs and not dicts: decoding a message into a Struct validates it in C in one pass and names
the failing field (`$.properties.revenue`), so validation costs nothing extra on the hot path.

`properties`, `traits` and `context` stay `msgspec.Raw`: the collector stores them as JSON text without
decoding and re-encoding them, and only lifecycle events (see `lifecycle`) decode their properties
into a typed Struct.

Constructing a Struct does not validate; decoding or `msgspec.convert` does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Union

import msgspec

from .limits import MAX_ID_LENGTH, MAX_MESSAGE_ID_LENGTH

MessageId = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_MESSAGE_ID_LENGTH)]
#: Segment SDKs send string ids; some send numbers (PostHog accepts both), so we take both.
Id = Union[Annotated[str, msgspec.Meta(max_length=MAX_ID_LENGTH)], int]

EMPTY_OBJECT = msgspec.Raw(b"{}")


class IdentityError(ValueError):
    """Raised while decoding when a message names no person; msgspec turns it into a ValidationError."""


class _Message(
    msgspec.Struct,
    kw_only=True,
    rename="camel",
    tag_field="type",
    omit_defaults=True,
):
    """Fields every message type carries. Unknown fields are tolerated, as Segment's API does."""

    message_id: MessageId | None = None
    user_id: Id | None = None
    anonymous_id: Id | None = None
    timestamp: datetime | None = None
    original_timestamp: datetime | None = None
    sent_at: datetime | None = None
    context: msgspec.Raw = EMPTY_OBJECT
    integrations: msgspec.Raw = EMPTY_OBJECT

    def __post_init__(self) -> None:
        if self.user_id in (None, "") and self.anonymous_id in (None, ""):
            raise IdentityError("either `userId` or `anonymousId` is required")


class Track(_Message, tag="track"):
    event: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    properties: msgspec.Raw = EMPTY_OBJECT


class Identify(_Message, tag="identify"):
    traits: msgspec.Raw = EMPTY_OBJECT


class Page(_Message, tag="page"):
    name: str | None = None
    category: str | None = None
    properties: msgspec.Raw = EMPTY_OBJECT


class Screen(_Message, tag="screen"):
    name: str | None = None
    category: str | None = None
    properties: msgspec.Raw = EMPTY_OBJECT


class Group(_Message, tag="group"):
    group_id: Id
    traits: msgspec.Raw = EMPTY_OBJECT


class Alias(_Message, tag="alias"):
    """`previousId` (an anonymous id or an older user id) becomes `userId`."""

    previous_id: Id
    user_id: Id  # type: ignore[assignment]  # required here, optional elsewhere

    def __post_init__(self) -> None:  # alias needs previousId + userId, not anonymousId
        return None


Message = Union[Track, Identify, Page, Screen, Group, Alias]
MESSAGE_TYPES: dict[str, type[_Message]] = {
    "track": Track,
    "identify": Identify,
    "page": Page,
    "screen": Screen,
    "group": Group,
    "alias": Alias,
}


class Batch(msgspec.Struct, kw_only=True, rename="camel"):
    """The `/v1/batch` envelope. Messages stay raw so each is validated (and rejected) on its own."""

    batch: list[msgspec.Raw]
    sent_at: datetime | None = None
    context: dict | None = None
    write_key: str | None = None
