"""Small helpers every format module shares (pure)."""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta, timezone

JST = timezone(timedelta(hours=9))


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def content_id(fmt: str, raw: bytes, *, digest: str | None = None) -> str:
    """Deterministic id for messages whose format carries none: same bytes, same id
    (``digest``: ``sha256(raw)`` when the caller has it already)."""
    return f"{fmt}:sha256:{(digest or sha256(raw))[:32]}"


def iso(value: str | None, *, assume: timezone = JST) -> str | None:
    """Normalise a timestamp to ISO 8601 with an explicit offset.

    JMA and Commons write local time with ``+09:00``; a bare time is taken as JST
    (``assume``) because that is what Japanese senders mean. ``Z`` is kept as UTC.
    Returns None for empty input; raises ValueError for garbage.
    """
    if value is None:
        return None
    v = value.strip()
    if not v:
        return None
    if v.endswith("Z"):
        v = v[:-1] + "+00:00"
    dt = datetime.fromisoformat(v)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=assume)
    return dt.isoformat()


def to_int(value: str | None) -> int | None:
    if value is None:
        return None
    v = value.strip().replace(",", "")
    if not v:
        return None
    try:
        return int(float(v))
    except ValueError:
        return None


def zen2han(s: str) -> str:
    """Full-width digits and letters → ASCII (レベル４ → レベル4)."""
    return s.translate(_Z2H)


_Z2H = str.maketrans(
    "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ",
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
)


# A circle wider than this is not a place: past a quarter of the Earth's circumference the
# geodesic ring no longer bounds the area around its centre (it wraps towards the antipode).
MAX_CIRCLE_KM = 10_000.0


def circle_radius_m(radius_km: str) -> float:
    """A circle's radius (CAP / EDXL write kilometres) in metres; ``ValueError`` with the
    reason for anything that is not a finite number up to ``MAX_CIRCLE_KM`` (``nan`` or
    ``inf`` would become a ring of NaN vertices that every map, page and push matcher
    chokes on)."""
    km = float(radius_km)
    if not math.isfinite(km) or km > MAX_CIRCLE_KM:
        raise ValueError(f"circle radius {radius_km!r} km is not a finite number up to "
                         f"{MAX_CIRCLE_KM:,.0f} km")
    return km * 1000.0


def circle_polygon(lat: float, lon: float, radius_m: float, *, segments: int = 32) -> dict:
    """GeoJSON Polygon approximating a circle (CAP ``circle``, Commons ``circle``).

    Vertices are geodesic (pyproj.Geod on WGS 84), so the radius is metres on the
    ground at any latitude; a radius of 0 gives a GeoJSON Point instead.
    """
    if radius_m <= 0:
        return {"type": "Point", "coordinates": [lon, lat]}
    from pyproj import Geod

    n = max(8, segments)
    azimuths = [360.0 * i / n for i in range(n)]
    lons, lats, _ = Geod(ellps="WGS84").fwd([lon] * n, [lat] * n, azimuths, [radius_m] * n)
    ring = [[round(x, 7), round(y, 7)] for x, y in zip(lons, lats, strict=True)]
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring[::-1]]}  # counter-clockwise (RFC 7946)
