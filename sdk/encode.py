"""Turn a call into the bytes of one message, once, and check them as the collector will.

Cost model (why it is shaped like this): the app's thread pays for this module and nothing else.
So the message is a plain dict holding the caller's own `properties`/`context` objects (no copy,
no deepcopy), encoded once by a reused msgspec encoder in C; the size limit is measured on those
bytes; and the bytes are validated by decoding them with the collector's own `tenure.schema`
message Structs (properties stay `Raw`, so that pass only scans them). The timestamp string is
built from a per-millisecond cache, and the UUIDv7 from a counter and one f-string.
The same bytes are later joined into a batch and, if need be, written to the spool: never re-encoded.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import time
from datetime import datetime, timezone
from typing import Any

import msgspec

from tenure.schema.lifecycle import CANONICAL_EVENT, LIFECYCLE_PROPERTIES
from tenure.schema.messages import Message

from .errors import ValidationError

LIBRARY = {"name": "tenure-sdk", "version": "0.1.0"}

_encoder = msgspec.json.Encoder(decimal_format="number")
_message_decoder = msgspec.json.Decoder(Message)
_second_prefix: tuple[int, str] = (-1, "")


def _timestamp_at(t: float) -> str:
    """`t` (epoch seconds) as `YYYY-MM-DDTHH:MM:SS.mmmZ`; strftime runs once per second."""
    global _second_prefix
    second = int(t)
    cached = _second_prefix  # one read: another thread may swap the tuple, never tear it
    if cached[0] != second:
        cached = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        _second_prefix = cached
    return f"{cached[1]}.{int((t - second) * 1000):03d}Z"


def now_timestamp() -> str:
    """The current UTC time with milliseconds, as the wire wants it."""
    return _timestamp_at(time.time())


# UUIDv7 layout (RFC 9562): 48-bit Unix ms | ver 7 | 12-bit rand_a | var 0b10 | 62-bit rand_b.
# rand_a is drawn once per process and rand_b is a counter started at a random value (the RFC's
# "monotonic random" method): ids are unique within the process by construction, ordered within a
# millisecond, and collide across processes only if two 74-bit random draws overlap. It costs one
# `next()` and one f-string instead of a 74-bit draw and big-int arithmetic per id.
_VARIANT = 0b10 << 62
_MASK62 = (1 << 62) - 1
_process_rand_a = ""
_counter: "itertools.count[int]" = itertools.count()


def _reseed() -> None:
    """New random parts for this process (at import and in a forked child)."""
    global _process_rand_a, _counter
    _process_rand_a = f"{random.getrandbits(12):03x}"
    _counter = itertools.count(random.getrandbits(62))


_reseed()
os.register_at_fork(after_in_child=_reseed)
_ms_cache: tuple[int, str, str] = (-1, "", "")


def stamp() -> tuple[str, str]:
    """(timestamp, messageId) for a message built now; both derived from one clock read.

    The per-millisecond parts are cached, so a burst of calls in one ms pays for them once.
    """
    global _ms_cache
    t = time.time()
    ms = int(t * 1000)
    cached = _ms_cache
    if cached[0] != ms:
        h = f"{ms & 0xFFFF_FFFF_FFFF:012x}"
        cached = (ms, _timestamp_at(t), f"{h[:8]}-{h[8:]}-7{_process_rand_a}-")
        _ms_cache = cached
    tail = f"{(next(_counter) & _MASK62) | _VARIANT:016x}"
    return cached[1], f"{cached[2]}{tail[:4]}-{tail[4:]}"


def uuid7(unix_ms: int | None = None) -> str:
    """A UUIDv7 for `unix_ms` (default: now); time-ordered, so tables and spool see ids in order."""
    if unix_ms is None:
        return stamp()[1]
    h = f"{unix_ms & 0xFFFF_FFFF_FFFF:012x}"
    tail = f"{(next(_counter) & _MASK62) | _VARIANT:016x}"
    return f"{h[:8]}-{h[8:]}-7{_process_rand_a}-{tail[:4]}-{tail[4:]}"


def format_timestamp(value: datetime | str) -> str:
    """A caller's timestamp for the wire. Naive datetimes are taken as UTC, as Segment's SDK does.

    Strings pass through untouched and are checked by the message decode.
    """
    if isinstance(value, str):
        return value
    if not isinstance(value, datetime):
        raise ValidationError(f"Expected `datetime | str`, got `{type(value).__name__}`", "$.timestamp")
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _translate(exc: msgspec.ValidationError, prefix: str = "$") -> ValidationError:
    """msgspec's `reason - at `$.x`` message as our error with a path under `prefix`."""
    text = str(exc)
    reason, sep, rest = text.rpartition(" - at `")
    path = prefix + rest.rstrip("`")[1:] if sep else prefix
    if not sep:
        reason = text
    # Name the field itself when msgspec (or a Struct's __post_init__) names it only in the text:
    # "Object missing required field `order_id`", "`revenue` must be a non-negative decimal".
    field = _FIELD_IN_TEXT.match(reason)
    if field:
        path = f"{path}.{field.group(1) or field.group(2)}"
    return ValidationError(reason, path)


_FIELD_IN_TEXT = re.compile(r"^(?:Object missing required field `(\w+)`|`(\w+)` must )")


def check_lifecycle(event: str, properties: Any) -> None:
    """Validate the properties of `register`/`login`/`click`/`purchase` (and their Segment names).

    Uses the collector's own Structs, so what passes here is never quarantined there.
    """
    canonical = CANONICAL_EVENT.get(event)
    if canonical is None:
        return
    try:
        msgspec.convert(properties if properties is not None else {}, LIFECYCLE_PROPERTIES[canonical])
    except msgspec.ValidationError as exc:
        raise _translate(exc, "$.properties") from None


def encode_message(message: dict[str, Any], max_bytes: int) -> bytes:
    """Encode once, check the size on the bytes, validate them with the collector's Structs."""
    try:
        data = _encoder.encode(message)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValidationError(f"not JSON-encodable: {exc}") from None
    if len(data) > max_bytes:
        raise ValidationError(f"message is {len(data)} bytes, over the {max_bytes} byte limit")
    try:
        _message_decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise _translate(exc) from None
    return data


def build(
    kind: str,
    fields: dict[str, Any],
    user_id: Any,
    anonymous_id: Any,
    context: Any,
    timestamp: datetime | str | None,
    message_id: str | None,
    max_bytes: int,
) -> bytes:
    """One message of type `kind` with the common fields; `fields` holds the type's own fields.

    `fields` is a dict the caller built for this message, so it is reused as the message itself.
    """
    fields["type"] = kind
    now, new_id = stamp()
    fields["messageId"] = new_id if message_id is None else message_id
    fields["timestamp"] = now if timestamp is None else format_timestamp(timestamp)
    if user_id is not None:
        fields["userId"] = user_id
    if anonymous_id is not None:
        fields["anonymousId"] = anonymous_id
    if context is not None:
        fields["context"] = context
    return encode_message(fields, max_bytes)


def envelope(messages: list[bytes], sent_at: str) -> bytes:
    """`{"batch":[...],"sentAt":...,"context":{"library":...}}` by joining encoded messages.

    The library context goes once per batch; the collector merges it under each message's context.
    """
    return b"".join(
        (b'{"batch":[', b",".join(messages), b'],"sentAt":"', sent_at.encode(), b'","context":',
         _LIBRARY_CONTEXT, b"}")
    )


_LIBRARY_CONTEXT = _encoder.encode({"library": LIBRARY})
decode_messages = msgspec.json.Decoder().decode


def decode_all(messages: list[bytes]) -> list[Any]:
    """Messages as dicts, for `on_error` and logs; only ever on the error path."""
    out = []
    for m in messages:
        try:
            out.append(decode_messages(m))
        except msgspec.DecodeError:
            out.append(m)
    return out
