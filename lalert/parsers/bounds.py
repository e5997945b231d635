"""One pass over parsed alerts that bounds every string from the message, and a check
that every place it names is a finite lon/lat.

Run by ``lalert.parsers.parse`` on whatever a format module returns, so each format
stays free of length checks and no output ever carries megabytes from one field. The
limits and the marker are in ``lalert.vocab.limits``. A coordinate that is NaN, infinite
or off the globe refuses the message (``check_places``): one such vertex made the map
data, signage pages, point answers and the push matcher fail for every reader.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from lalert.model import Alert
from lalert.parsers.xmlsafe import ParseError
from lalert.vocab.limits import (
    ID_MAX,
    IDENTIFIERS,
    OTHER_MAX,
    TEXT_LIMITS,
    TRUNCATION_MARKER,
)

# never bounded: our own values (digests, enumerations), not free text from a message
_SKIP = frozenset({"raw_sha256", "format", "geometry"})


def cut(text: str, limit: int) -> str:
    """``text`` itself when within ``limit``, else its start and the marker (``limit`` long)."""
    if len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATION_MARKER)] + TRUNCATION_MARKER


class _Pass:
    def __init__(self, source: str) -> None:
        self.source = source
        self.truncated: list[str] = []

    def value(self, v: Any, field: str, path: str) -> Any:
        if isinstance(v, str):
            if field in IDENTIFIERS:
                if len(v) > ID_MAX:
                    raise ParseError(f"{path} is {len(v):,} characters, over the {ID_MAX}-"
                                     "character bound for identifiers and codes",
                                     source=self.source)
                return v
            limit = TEXT_LIMITS.get(field, OTHER_MAX)
            if len(v) > limit:
                self.truncated.append(path)
                return cut(v, limit)
            return v
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return self.record(v, path)
        if isinstance(v, dict):
            out = {k: self.value(x, str(k), f"{path}.{k}") for k, x in v.items()
                   if k not in _SKIP}
            return {**{k: v[k] for k in v if k in _SKIP}, **out}
        if isinstance(v, tuple | list):
            out_seq = [self.value(x, field, f"{path}[{i}]") for i, x in enumerate(v)]
            return type(v)(out_seq)
        return v

    def record(self, obj: Any, path: str) -> Any:
        changes = {}
        for f in dataclasses.fields(obj):
            if f.name in _SKIP:
                continue
            old = getattr(obj, f.name)
            new = self.value(old, f.name, f"{path}.{f.name}" if path else f.name)
            if new is not old and new != old:
                changes[f.name] = new
        return dataclasses.replace(obj, **changes) if changes else obj


# dataclass → (field name, bound of a string there) for its fields minus _SKIP
_FIELDS: dict[type, tuple[tuple[str, int], ...]] = {}


def _limit(field: str) -> int:
    return ID_MAX if field in IDENTIFIERS else TEXT_LIMITS.get(field, OTHER_MAX)


def _over(v: Any, field: str) -> bool:
    """Does anything in ``v`` exceed its bound? A check without the paths and copies of
    ``_Pass``: almost every message is within bounds, and a big earthquake report holds
    thousands of areas, so the common case must cost one plain walk (explicit loops and
    exact type tests: this runs for every string of every message)."""
    t = type(v)
    if t is str:
        return len(v) > _limit(field)
    if t is tuple or t is list:
        for x in v:
            if _over(x, field):
                return True
        return False
    if v is None or t is int or t is float or t is bool:
        return False
    if t is dict:
        for k, x in v.items():
            if k not in _SKIP and _over(x, str(k)):
                return True
        return False
    spec = _FIELDS.get(t)
    if spec is None:
        if not dataclasses.is_dataclass(v) or isinstance(v, type):
            return _over_other(v, field)
        spec = _FIELDS[t] = tuple((f.name, _limit(f.name)) for f in dataclasses.fields(v)
                                  if f.name not in _SKIP)
    # A record's own strings and empty fields are judged here, without a call per field:
    # the thousands of Area / Hazard records of a big report are mostly short strings.
    for n, lim in spec:
        x = getattr(v, n)
        tx = type(x)
        if tx is str:
            if len(x) > lim:
                return True
        elif x is None or tx is int or tx is float or tx is bool:
            continue
        elif (tx is tuple or tx is list) and not x:
            continue
        elif _over(x, n):
            return True
    return False


def _over_other(v: Any, field: str) -> bool:
    """Subclasses of str / tuple / list / dict (rare): judged like their base."""
    if isinstance(v, str):
        return _over(str(v), field)
    if isinstance(v, tuple | list):
        return _over(list(v), field)
    if isinstance(v, dict):
        return _over(dict(v), field)
    return False


# Vertices of all area geometries of one alert together. The corpus's most detailed CAP
# alert has 75; receivers (sirens, cell broadcast) take far fewer. Every output simplifies
# shapes once per change, and a 300,000-vertex zigzag kept the map and the CAP feed busy
# for minutes (simplification is superlinear on a ring that crosses itself).
MAX_ALERT_VERTICES = 10_000


def _positions(coords: Any) -> tuple[int, Any]:
    """(how many positions, the first that is not a finite ``[lon, lat]`` on the globe or
    not a number at all, else None) in nested GeoJSON ``coordinates``."""
    stack = [coords]
    count = 0
    while stack:
        c = stack.pop()
        if not isinstance(c, list | tuple) or not c:
            return count, c
        if isinstance(c[0], list | tuple):
            stack.extend(c)
            continue
        count += 1
        if len(c) < 2 or not all(type(v) is float or type(v) is int for v in c):
            return count, c
        lon, lat = c[0], c[1]
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180
                and -90 <= lat <= 90):
            return count, c
    return count, None


def _geometry(g: Any) -> tuple[int, str | None]:
    """(vertices, what is wrong or None) of one GeoJSON geometry."""
    if not isinstance(g, dict):
        return 0, "is not a GeoJSON object"
    if g.get("type") == "GeometryCollection":
        total = 0
        for part in g.get("geometries") or ():
            n, why = _geometry(part)
            total += n
            if why:
                return total, why
        return total, None
    n, bad = _positions(g.get("coordinates"))
    return n, (None if bad is None else
               f"has the position {str(bad)[:80]}, not a finite lon/lat")


def check_places(alert: Alert, *, source: str = "<bytes>") -> None:
    """Refuse (``ParseError``) an alert with an area geometry or a shelter position that
    is not finite lon/lat on the globe, naming which one, or with more than
    ``MAX_ALERT_VERTICES`` vertices in its area geometries together."""
    vertices = 0
    for i, a in enumerate(alert.areas):
        if a.geometry is not None:
            n, why = _geometry(a.geometry)
            if why:
                raise ParseError(f"areas[{i}] ({a.name or a.code or 'unnamed'}): geometry {why}",
                                 source=source)
            vertices += n
            if vertices > MAX_ALERT_VERTICES:
                raise ParseError(f"area geometries hold over {MAX_ALERT_VERTICES:,} vertices "
                                 f"(at areas[{i}]); simplify the polygons", source=source)
    for i, sh in enumerate(alert.shelters):
        for name in ("lat", "lon", "radius_m"):
            v = getattr(sh, name, None)
            if v is not None and not math.isfinite(v):
                raise ParseError(f"shelters[{i}] ({sh.name}): {name} is {v}, not a finite "
                                 "number", source=source)


def bound_alert(alert: Alert, *, source: str = "<bytes>") -> Alert:
    """``alert`` with every string within its limit; truncated fields are listed in
    ``details["truncated"]``. Raises ``ParseError`` for an over-long identifier or a place
    that is not finite lon/lat (``check_places``)."""
    check_places(alert, source=source)
    if not _over(alert, ""):
        return alert
    p = _Pass(source)
    out = p.record(alert, "")
    if p.truncated:
        out = dataclasses.replace(out, details={**out.details, "truncated": p.truncated})
    return out
