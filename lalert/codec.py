"""One codec for the alert model: its public JSON form and its tagged MessagePack form.

Both come from ``msgspec``, which encodes and decodes the model's dataclasses in C,
type-checked on the way in (a field of the wrong type is an error, not a surprise
three modules later). It replaced a hand-written ``dataclasses``-to-dict walk that took
40 % of ``lalert parse --json``, and the caches of Python object serialisation, whose
loading ran whatever code the stored bytes named.

- **JSON** (``alert_json``, ``enriched_json``, ``*_dict``, ``*_from_*``): the public
  contract of ``lalert/alert.schema.json`` (``{"schema": "lalert.alert/1", ...}``), what
  ``lalert parse --json``, the read API, feeds and push payloads carry.
- **Packed** (``pack``, ``unpack_alerts``, ``unpack_enriched``): what lalert keeps for
  itself — the SQLite / PostgreSQL caches and every Redis stream entry. MessagePack of
  the model's own structure (an ``EnrichedAlert`` round-trips whole; GeoJSON coordinate
  tuples come back as lists), behind a header naming the schema version that wrote it:
  ``lalert/1.1;msgpack\\n``. Bytes without that header, or with another version, are
  refused with ``Undecodable`` and a reason; the caller keeps them and reports them
  (nothing in them is ever executed). A change to the model's fields bumps
  ``model.SCHEMA_VERSION``, and with it this header.

Pure: no I/O. Encoders and decoders are built once, at import.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec

from lalert.model import (
    ENRICHED_SCHEMA_ID,
    SCHEMA_ID,
    SCHEMA_VERSION,
    Alert,
    Area,
    EnrichedAlert,
    NearbyHotspot,
    NearbyShelter,
)

PACKED = b"lalert/" + SCHEMA_VERSION.encode() + b";msgpack\n"  # header of every packed entry
_MAGIC = b"lalert/"
# Entries of lalert before schema 1.1 began "lalert-<serialiser>/1\n" and held Python
# objects; they are recognised, never loaded.
LEGACY = b"lalert-"
MAX_REASON = 120  # a refused entry's reason quotes at most this much of the stranger's bytes


class Undecodable(ValueError):
    """Bytes this lalert cannot read as its own: foreign, damaged or another schema
    version. ``reason`` is short and safe to show (bounded, repr-quoted)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _enc_hook(obj: Any) -> Any:
    """Values the model may carry that are not plain data: geometries (shapely and
    anything else with ``__geo_interface__``) become GeoJSON, numpy scalars numbers.
    Duck-typed so the core imports neither shapely nor numpy."""
    geo = getattr(obj, "__geo_interface__", None)
    if geo is not None:
        return geo
    if type(obj).__module__ == "numpy" and hasattr(obj, "item"):
        return obj.item()
    raise NotImplementedError(f"lalert.codec cannot encode {type(obj).__name__}")


_json = msgspec.json.Encoder(enc_hook=_enc_hook)
_msgpack = msgspec.msgpack.Encoder(enc_hook=_enc_hook)
_json_any = msgspec.json.Decoder()
_alert_json = msgspec.json.Decoder(Alert)
_alerts_packed = msgspec.msgpack.Decoder(list[Alert])


class _EnrichedTail(msgspec.Struct, frozen=True):
    """The keys an enriched alert's JSON adds to its alert's (``EnrichedAlert.to_dict``)."""

    footprint: dict[str, Any] | None = None
    bbox: tuple[float, float, float, float] | None = None
    hazard_tags: tuple[str, ...] = ()
    nearby_shelters: tuple[NearbyShelter, ...] = ()
    hotspots: tuple[NearbyHotspot, ...] = ()


_tail_json = msgspec.json.Decoder(_EnrichedTail)


class _PackedEnriched(msgspec.Struct, frozen=True):
    """An ``EnrichedAlert`` as packed: ``areas`` is None when it is the alert's own tuple
    (nothing resolved), so it is stored once and shared again when read back."""

    alert: Alert
    areas: tuple[Area, ...] | None = None
    footprint: dict[str, Any] | None = None
    bbox: tuple[float, float, float, float] | None = None
    hazard_tags: tuple[str, ...] = ()
    shelters: tuple[NearbyShelter, ...] = ()
    hotspots: tuple[NearbyHotspot, ...] = ()


_enriched_packed = msgspec.msgpack.Decoder(_PackedEnriched)

_ALERT_HEAD = b'{"schema":"' + SCHEMA_ID.encode() + b'",'
_ENRICHED_HEAD = b'{"schema":"' + ENRICHED_SCHEMA_ID.encode() + b'",'


# --- public JSON ----------------------------------------------------------------------


def alert_json(alert: Alert) -> bytes:
    """The alert's public JSON (UTF-8), ``schema`` first."""
    return _ALERT_HEAD + _json.encode(alert)[1:]


def enriched_json(ea: EnrichedAlert) -> bytes:
    """The enriched alert's public JSON: the alert's keys (``areas`` with geometry when
    enrichment filled them), then ``footprint``, ``bbox``, ``hazard_tags``,
    ``nearby_shelters``, ``hotspots``."""
    alert = ea.alert
    if ea.areas and ea.areas is not alert.areas:
        alert = dataclasses.replace(alert, areas=ea.areas)
    tail = _EnrichedTail(ea.footprint, ea.bbox, ea.hazard_tags, ea.shelters, ea.hotspots)
    return _ENRICHED_HEAD + _json.encode(alert)[1:-1] + b"," + _json.encode(tail)[1:]


def alert_dict(alert: Alert) -> dict[str, Any]:
    """The public JSON form as Python data (lists, not tuples)."""
    return _json_any.decode(alert_json(alert))


def enriched_dict(ea: EnrichedAlert) -> dict[str, Any]:
    return _json_any.decode(enriched_json(ea))


def plain(obj: Any) -> Any:
    """Any model value (or list / dict of them) as JSON-ready Python data."""
    return _json_any.decode(_json.encode(obj))


def alert_from_json(data: bytes | str) -> Alert:
    """An alert from its public JSON; ``msgspec.ValidationError`` names a wrong field."""
    return _alert_json.decode(data)


def alert_from_dict(data: dict[str, Any]) -> Alert:
    return msgspec.convert(data, Alert)


def enriched_from_dict(data: dict[str, Any]) -> EnrichedAlert:
    alert = msgspec.convert(data, Alert)
    return _enriched(alert, msgspec.convert(data, _EnrichedTail))


def enriched_from_json(data: bytes | str) -> EnrichedAlert:
    return _enriched(_alert_json.decode(data), _tail_json.decode(data))


def _enriched(alert: Alert, tail: _EnrichedTail) -> EnrichedAlert:
    return EnrichedAlert(alert=alert, areas=alert.areas, footprint=tail.footprint,
                         bbox=tail.bbox, hazard_tags=tail.hazard_tags,
                         shelters=tail.nearby_shelters, hotspots=tail.hotspots)


# --- packed (stored and streamed) -----------------------------------------------------


def pack(obj: EnrichedAlert | list[Alert] | tuple[Alert, ...]) -> bytes:
    """An enriched alert or a list of alerts as a version-tagged MessagePack entry."""
    if isinstance(obj, EnrichedAlert):
        own = obj.areas is obj.alert.areas
        return PACKED + _msgpack.encode(_PackedEnriched(
            obj.alert, None if own else obj.areas, obj.footprint, obj.bbox, obj.hazard_tags,
            obj.shelters, obj.hotspots))
    if isinstance(obj, tuple):
        obj = list(obj)
    return PACKED + _msgpack.encode(obj)


def version_of(data: bytes) -> str | None:
    """The schema version a packed entry names, None when it names none."""
    if not data.startswith(_MAGIC):
        return None
    end = data.find(b";", len(_MAGIC), len(_MAGIC) + 32)
    if end < 0:
        return None
    return data[len(_MAGIC):end].decode("ascii", "replace")


def _body(data: Any) -> memoryview:
    if isinstance(data, memoryview):
        data = bytes(data)
    if not isinstance(data, (bytes, bytearray)):
        raise Undecodable(f"not bytes but {type(data).__name__}")
    if data.startswith(PACKED):
        return memoryview(data)[len(PACKED):]
    if data.startswith(LEGACY):
        raise Undecodable("an older lalert's Python-object entry (never loaded: it could run code)")
    version = version_of(bytes(data[:64]))
    if version is not None:
        raise Undecodable(f"schema version {version[:20]!r}; this lalert reads {SCHEMA_VERSION!r}")
    raise Undecodable(f"not a lalert entry (starts {bytes(data[:24])!r})"[:MAX_REASON])


def unpack_alerts(data: Any) -> list[Alert]:
    """The alerts of a packed entry; ``Undecodable`` (with the reason) otherwise."""
    body = _body(data)
    try:
        return _alerts_packed.decode(body)
    except msgspec.DecodeError as exc:
        raise Undecodable(f"damaged entry: {exc}"[:MAX_REASON]) from None


def unpack_enriched(data: Any) -> EnrichedAlert:
    """The enriched alert of a packed entry; ``Undecodable`` (with the reason) otherwise."""
    body = _body(data)
    try:
        p = _enriched_packed.decode(body)
    except msgspec.DecodeError as exc:
        raise Undecodable(f"damaged entry: {exc}"[:MAX_REASON]) from None
    return EnrichedAlert(alert=p.alert, areas=p.alert.areas if p.areas is None else p.areas,
                         footprint=p.footprint, bbox=p.bbox, hazard_tags=p.hazard_tags,
                         shelters=p.shelters, hotspots=p.hotspots)
