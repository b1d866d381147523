"""Validate Segment-spec messages and turn them into `events` and `quarantine` rows.

The hot path: the batch envelope is decoded with the messages left as `msgspec.Raw`, then each
message is decoded once into its typed Struct (validation happens in C). Properties, traits and
context are stored as the JSON text that arrived, never re-encoded. Only lifecycle events decode
their properties a second time, into their typed Struct. Per message the Python work is building
one row tuple.

A message that fails becomes a quarantine row with the JSON path of the failing field and the
reason; the request still succeeds for the others (SDKs do not retry 4xx, so a 400 would lose the
valid messages too).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

import msgspec

from tenure.schema.lifecycle import CANONICAL_EVENT, LIFECYCLE_PROPERTIES
from tenure.schema.messages import MESSAGE_TYPES, Alias, Batch, Group, Identify, Message, Track

from .config import Limits
from .errors import RequestError

#: Column order of `tenure.events` rows built here; the writer inserts with these names and types.
EVENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("project", "LowCardinality(String)"),
    ("message_id", "String"),
    ("type", "LowCardinality(String)"),
    ("event", "LowCardinality(String)"),
    ("sent_event", "LowCardinality(String)"),
    ("name", "String"),
    ("user_id", "String"),
    ("anonymous_id", "String"),
    ("previous_id", "String"),
    ("group_id", "String"),
    ("timestamp", "DateTime64(3, 'UTC')"),
    ("original_timestamp", "Nullable(DateTime64(3, 'UTC'))"),
    ("sent_at", "Nullable(DateTime64(3, 'UTC'))"),
    ("received_at", "DateTime64(3, 'UTC')"),
    ("timestamp_replaced", "Bool"),
    ("properties", "JSON"),
    ("traits", "JSON"),
    ("context", "JSON"),
    ("integrations", "String"),
    ("revenue", "Nullable(Decimal(18, 4))"),
    ("currency", "LowCardinality(String)"),
    ("order_id", "String"),
)
QUARANTINE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("project", "LowCardinality(String)"),
    ("received_at", "DateTime64(3, 'UTC')"),
    ("message_id", "String"),
    ("type", "LowCardinality(String)"),
    ("raw", "String"),
    ("field", "String"),
    ("error", "String"),
)

_MIN_PLAUSIBLE_MS = 31_536_000_000  # 1971-01-01
_MAX_FUTURE_MS = 86_400_000  # a corrected timestamp more than a day ahead is replaced
_ERROR_PATH = re.compile(r"^(?P<reason>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)

_message_decoder = msgspec.json.Decoder(Message)
_typed_decoders = {name: msgspec.json.Decoder(t) for name, t in MESSAGE_TYPES.items()}
_batch_decoder = msgspec.json.Decoder(Batch)
_lifecycle_decoders = {name: msgspec.json.Decoder(t) for name, t in LIFECYCLE_PROPERTIES.items()}
_any_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


@dataclass
class Parsed:
    """What one request turns into: rows to log and store, and the answer's rejections."""

    events: list[tuple] = field(default_factory=list)
    quarantine: list[tuple] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)


class Rejection(Exception):
    def __init__(self, field_path: str, reason: str) -> None:
        super().__init__(reason)
        self.field_path = field_path
        self.reason = reason


def _split_error(exc: msgspec.ValidationError) -> tuple[str, str]:
    """msgspec's "Expected `str`, got `int` - at `$.userId`" -> ("$.userId", "Expected `str`, got `int`")."""
    match = _ERROR_PATH.match(str(exc))
    reason, path = match.group("reason"), match.group("path") or ""
    if "`userId` or `anonymousId`" in reason:
        path = path + ".userId"
    return "$" + path, reason


def _to_ms(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:  # Segment SDKs send UTC; a naive time is read as UTC
        value = value.replace(tzinfo=timezone.utc)
    return round(value.timestamp() * 1000)


def _object_text(raw: msgspec.Raw, where: str) -> str:
    text = bytes(raw)
    if text == b"null":  # some SDKs send `"properties": null` for "none"
        return "{}"
    if text[:1] != b"{":
        raise Rejection(where, "Expected `object`")
    return text.decode("utf-8")


def _merge(base: dict, own: dict) -> dict:
    """`own` over `base`, recursively: batch {"library": {"name"}} + message {"library": {"version"}}
    keeps both."""
    merged = dict(base)
    for key, value in own.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _id(value) -> str:
    return "" if value is None else str(value)


class Normalizer:
    """Turns one request's messages into rows. Made per request: it holds the request's project,
    receive time, batch-level `sentAt` and `context`."""

    def __init__(self, project: str, received_ms: int, limits: Limits,
                 batch_sent_at: datetime | None = None, batch_context: dict | None = None) -> None:
        self.project = project
        self.received_ms = received_ms
        self.limits = limits
        self.batch_sent_ms = _to_ms(batch_sent_at)
        self.batch_context = batch_context or None
        self.parsed = Parsed()

    # -- one message -------------------------------------------------------------------------
    def add(self, raw: bytes | msgspec.Raw, index: int, prefix: str, forced_type: str | None = None) -> None:
        try:
            if len(raw) > self.limits.max_message_bytes:
                raise Rejection(prefix, f"message is {len(raw)} bytes, over the limit of {self.limits.max_message_bytes}")
            try:
                msg = (_typed_decoders[forced_type] if forced_type else _message_decoder).decode(raw)
            except msgspec.ValidationError as exc:
                path, reason = _split_error(exc)
                raise Rejection(prefix + path[1:], reason) from None
            except msgspec.DecodeError as exc:
                raise Rejection(prefix, f"malformed JSON: {exc}") from None
            self.parsed.events.append(self._row(msg, prefix))
        except Rejection as rej:
            self._reject(raw, index, rej)

    def _reject(self, raw, index: int, rej: Rejection) -> None:
        raw_bytes = bytes(raw)
        message_id, mtype = "", ""
        try:
            loose = _any_decoder.decode(raw_bytes)
            if isinstance(loose, dict):
                message_id = str(loose.get("messageId") or "")[:200]
                mtype = str(loose.get("type") or "")[:50]
                if "writeKey" in loose:  # a key is never stored (single-message bodies may carry one)
                    loose["writeKey"] = "<redacted>"
                    raw_bytes = _encoder.encode(loose)
        except msgspec.DecodeError:
            pass
        self.parsed.quarantine.append((
            self.project, self.received_ms, message_id, mtype,
            raw_bytes.decode("utf-8", "replace"), rej.field_path, rej.reason,
        ))
        self.parsed.rejected.append({"index": index, "messageId": message_id, "field": rej.field_path, "error": rej.reason})

    def _row(self, msg: Message, prefix: str) -> tuple:
        received = self.received_ms
        client_ms = _to_ms(msg.timestamp or msg.original_timestamp)
        sent_ms = _to_ms(msg.sent_at) if msg.sent_at is not None else self.batch_sent_ms
        if client_ms is None:
            ts = received
        elif sent_ms is not None:
            ts = received - (sent_ms - client_ms)  # Segment's skew rule
        else:
            ts = client_ms
        replaced = not (_MIN_PLAUSIBLE_MS <= ts <= received + _MAX_FUTURE_MS)
        if replaced:
            ts = received

        mtype = msg.__struct_config__.tag
        event = sent_event = name = previous_id = group_id = order_id = currency = ""
        revenue = None
        properties = traits = "{}"
        if isinstance(msg, Track):
            sent_event = msg.event
            event = CANONICAL_EVENT.get(sent_event, sent_event)
            properties = _object_text(msg.properties, prefix + ".properties")
            decoder = _lifecycle_decoders.get(event)
            if decoder is not None:
                try:
                    typed = decoder.decode(msg.properties)
                except msgspec.ValidationError as exc:
                    path, reason = _split_error(exc)
                    raise Rejection(prefix + ".properties" + path[1:], f"{reason} (required by the `{event}` event)") from None
                if event == "purchase":
                    revenue, currency, order_id = str(typed.revenue), typed.currency, typed.order_id
        elif isinstance(msg, (Identify, Group)):
            traits = _object_text(msg.traits, prefix + ".traits")
            if isinstance(msg, Group):
                group_id = _id(msg.group_id)
        elif isinstance(msg, Alias):
            previous_id = _id(msg.previous_id)
        else:  # page, screen
            event = sent_event = mtype
            name = msg.name or ""
            properties = _object_text(msg.properties, prefix + ".properties")

        context = _object_text(msg.context, prefix + ".context")
        if self.batch_context:
            context = _encoder.encode(_merge(self.batch_context, _any_decoder.decode(context))).decode()
        if isinstance(msg, Identify) and traits == "{}" and context != "{}":
            traits = self._context_traits(context)  # RudderStack puts identify traits in context.traits

        return (
            self.project, msg.message_id or str(uuid.uuid4()), mtype, event, sent_event, name,
            _id(msg.user_id), _id(msg.anonymous_id), previous_id, group_id,
            ts, client_ms, sent_ms, received, replaced,
            properties, traits, context, bytes(msg.integrations).decode("utf-8"),
            revenue, currency, order_id,
        )

    @staticmethod
    def _context_traits(context: str) -> str:
        found = _any_decoder.decode(context).get("traits")
        return _encoder.encode(found).decode() if isinstance(found, dict) else "{}"


_LONE_SURROGATE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def replace_lone_surrogates(body: bytes) -> bytes:
    """JSON from Python's `json.dumps` can escape half of an emoji (a string cut mid-pair); msgspec
    refuses that as malformed, which would cost the whole batch. Such halves become U+FFFD."""
    return _LONE_SURROGATE.sub(rb"\\ufffd", body)


def parse_batch(body: bytes, limits: Limits) -> Batch:
    """Decode the envelope of a `/v1/batch` body. Raises RequestError (400) when it is not a batch."""
    try:
        try:
            batch = _batch_decoder.decode(body)
        except msgspec.DecodeError as exc:
            if "escape" not in str(exc):
                raise
            batch = _batch_decoder.decode(replace_lone_surrogates(body))
    except msgspec.ValidationError as exc:
        path, reason = _split_error(exc)
        raise RequestError(f"not a batch: {reason} at {path}", field=path) from None
    except msgspec.DecodeError as exc:
        raise RequestError(f"malformed JSON: {exc}") from None
    if len(batch.batch) > limits.max_batch_messages:
        raise RequestError(f"batch has {len(batch.batch)} messages, over the limit of {limits.max_batch_messages}")
    return batch


def normalize_batch(batch: Batch, project: str, received_ms: int, limits: Limits) -> Parsed:
    norm = Normalizer(project, received_ms, limits, batch.sent_at, batch.context)
    for index, raw in enumerate(batch.batch):
        norm.add(raw, index, f"$.batch[{index}]")
    return norm.parsed


def normalize_single(body: bytes, mtype: str, project: str, received_ms: int, limits: Limits) -> Parsed:
    """One message posted to `/v1/track`, `/v1/identify`, ...: the route gives the type."""
    norm = Normalizer(project, received_ms, limits)
    norm.add(body, 0, "$", forced_type=mtype)
    return norm.parsed


def peek_write_key(body: bytes) -> str | None:
    """The `writeKey` field of a single-message body, for SDKs that send the key there."""
    try:
        value = _any_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise RequestError(f"malformed JSON: {exc}") from None
    if not isinstance(value, dict):
        raise RequestError("body must be a JSON object")
    key = value.get("writeKey")
    return key if isinstance(key, str) else None

