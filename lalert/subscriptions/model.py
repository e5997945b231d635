"""What a subscriber asked for: a place, filters and a channel target (pure, no I/O).

A subscription's *where* is one of: a point with a radius in metres, area codes keyed by
their scheme (DESIGN.md "Area codes"), or a GeoJSON polygon. Filters narrow what reaches
it: kinds, a minimum 警戒レベル, languages, and whether drills (exercise / test) are wanted.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import shapely


def new_id(prefix: str = "sub") -> str:
    """A fresh subscription id: unguessable, since it appears in unsubscribe URLs."""
    return f"{prefix}_{secrets.token_urlsafe(12)}"

CHANNELS = ("webhook", "webpush", "sse")
MAX_RADIUS_M = 200_000.0  # a "place" subscription; larger is a prefecture, use area codes
MAX_AREAS = 500
MAX_POLYGON_VERTICES = 5_000
MAX_KINDS = 50  # every kind, hazard and sub-kind lalert knows fits several times over
MAX_LANGUAGES = 16
MAX_TERM_CHARS = 64  # one kind, language, area scheme or area code
_LANGUAGE = re.compile(r"[a-z]{2,8}(-[a-z0-9]{1,8})*")


@dataclass(frozen=True)
class Subscription:
    """One subscription. ``target`` is channel-specific (webhook url + secret, push keys)."""

    id: str
    channel: str
    lat: float | None = None
    lon: float | None = None
    radius_m: float = 0.0
    areas: tuple[tuple[str, str], ...] = ()
    polygon: dict[str, Any] | None = None
    kinds: frozenset[str] = frozenset()
    min_level: int | None = None
    languages: frozenset[str] = frozenset()
    drills: bool = False
    target: dict[str, Any] = field(default_factory=dict, compare=False)
    created_at: str = ""

    def where(self) -> dict[str, Any]:
        """The public JSON form of the place (no secrets)."""
        if self.lat is not None and self.lon is not None:
            return {"point": {"lat": self.lat, "lon": self.lon}, "radius_m": self.radius_m}
        if self.polygon is not None:
            return {"polygon": self.polygon}
        return {"areas": [{"scheme": s, "code": c} for s, c in self.areas]}

    def public(self) -> dict[str, Any]:
        """What GET returns: everything but the target's secrets."""
        out: dict[str, Any] = {
            "id": self.id,
            "channel": self.channel,
            "where": self.where(),
            "kinds": sorted(self.kinds),
            "min_level": self.min_level,
            "languages": sorted(self.languages),
            "drills": self.drills,
            "created_at": self.created_at,
        }
        if self.channel == "webhook":
            out["url"] = self.target.get("url")
        elif self.channel == "webpush":
            out["lang"] = self.target.get("lang")  # the notifications' language
        return out


class InvalidSubscription(ValueError):
    """The request body does not describe a usable subscription (message is user-facing)."""


def parse_where(where: Any) -> dict[str, Any]:
    """Validate a ``where`` object into Subscription fields (lat/lon/radius, areas, polygon)."""
    if not isinstance(where, dict):
        raise InvalidSubscription("'where' must be an object")
    if "point" in where:
        pt = where["point"]
        try:
            if isinstance(pt, dict):
                lat, lon = float(pt["lat"]), float(pt["lon"])
            else:
                lat, lon = float(pt[0]), float(pt[1])
            radius = float(where.get("radius_m", 0))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise InvalidSubscription("'point' must be {lat, lon} with a numeric radius_m") from exc
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise InvalidSubscription("point outside lat/lon range")
        if not (0 <= radius <= MAX_RADIUS_M):
            raise InvalidSubscription(f"radius_m must be between 0 and {MAX_RADIUS_M:.0f}")
        return {"lat": lat, "lon": lon, "radius_m": radius}
    if "areas" in where:
        areas = where["areas"]
        if not isinstance(areas, list) or not areas or len(areas) > MAX_AREAS:
            raise InvalidSubscription(f"'areas' must be a list of 1..{MAX_AREAS} codes")
        out: list[tuple[str, str]] = []
        for a in areas:
            if not isinstance(a, dict) or not a.get("scheme") or not a.get("code"):
                raise InvalidSubscription("each area needs a 'scheme' and a 'code'")
            scheme, code = str(a["scheme"]), str(a["code"])
            if len(scheme) > MAX_TERM_CHARS or len(code) > MAX_TERM_CHARS:
                raise InvalidSubscription(
                    f"area 'scheme' and 'code' must be at most {MAX_TERM_CHARS} characters")
            out.append((scheme, code))
        return {"areas": tuple(dict.fromkeys(out))}
    if "polygon" in where:
        geom = where["polygon"]
        try:
            shape = shapely.from_geojson(json.dumps(geom))
        except Exception as exc:  # shapely raises GEOSException / ValueError variously
            raise InvalidSubscription("'polygon' must be a GeoJSON Polygon/MultiPolygon") from exc
        if shape.geom_type not in ("Polygon", "MultiPolygon") or shape.is_empty:
            raise InvalidSubscription("'polygon' must be a GeoJSON Polygon/MultiPolygon")
        if shapely.get_num_coordinates(shape) > MAX_POLYGON_VERTICES:
            raise InvalidSubscription(f"'polygon' has more than {MAX_POLYGON_VERTICES} vertices")
        minx, miny, maxx, maxy = shape.bounds
        if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
            raise InvalidSubscription("polygon outside lon/lat range")
        return {"polygon": geom}
    raise InvalidSubscription("'where' needs one of 'point', 'areas' or 'polygon'")


def parse_filters(body: dict[str, Any]) -> dict[str, Any]:
    """Validate kinds / min_level / languages / drills."""
    kinds = body.get("kinds") or []
    langs = body.get("languages") or []
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        raise InvalidSubscription("'kinds' must be a list of strings")
    if not isinstance(langs, list) or not all(isinstance(k, str) for k in langs):
        raise InvalidSubscription("'languages' must be a list of strings")
    check_terms("kinds", kinds, MAX_KINDS)
    check_terms("languages", langs, MAX_LANGUAGES)
    if not all(_LANGUAGE.fullmatch(x.lower()) for x in langs):
        raise InvalidSubscription("'languages' must be language tags such as 'ja' or 'en'")
    level = body.get("min_level")
    if level is not None:
        if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 5:
            raise InvalidSubscription("'min_level' must be an integer 1..5")
    drills = body.get("drills", False)
    if not isinstance(drills, bool):
        raise InvalidSubscription("'drills' must be true or false")
    return {
        "kinds": frozenset(kinds),
        "min_level": level,
        "languages": frozenset(x.lower() for x in langs),
        "drills": drills,
    }


def check_terms(name: str, values: list[str], limit: int) -> None:
    """A filter list within its bounds: at most ``limit`` distinct non-empty values of at
    most ``MAX_TERM_CHARS`` characters each (the reason names the field and the limit)."""
    if len(set(values)) > limit:
        raise InvalidSubscription(f"'{name}' has {len(set(values))} values; at most {limit}")
    for v in values:
        if not v or len(v) > MAX_TERM_CHARS:
            raise InvalidSubscription(
                f"each of '{name}' must be 1..{MAX_TERM_CHARS} characters")


def subscription_from_request(
    body: Any, *, sub_id: str, channel: str, target: dict[str, Any], created_at: str
) -> Subscription:
    """Build a Subscription from an API body (already authorised for ``channel``)."""
    if not isinstance(body, dict):
        raise InvalidSubscription("body must be a JSON object")
    return Subscription(
        id=sub_id,
        channel=channel,
        target=target,
        created_at=created_at,
        **parse_where(body.get("where")),
        **parse_filters(body),
    )


def to_record(sub: Subscription) -> dict[str, Any]:
    """Plain JSON form for storage (target included)."""
    return {
        "id": sub.id,
        "channel": sub.channel,
        "lat": sub.lat,
        "lon": sub.lon,
        "radius_m": sub.radius_m,
        "areas": [list(a) for a in sub.areas],
        "polygon": sub.polygon,
        "kinds": sorted(sub.kinds),
        "min_level": sub.min_level,
        "languages": sorted(sub.languages),
        "drills": sub.drills,
        "target": sub.target,
        "created_at": sub.created_at,
    }


def from_record(rec: dict[str, Any]) -> Subscription:
    return Subscription(
        id=rec["id"],
        channel=rec["channel"],
        lat=rec.get("lat"),
        lon=rec.get("lon"),
        radius_m=float(rec.get("radius_m") or 0.0),
        areas=tuple((str(s), str(c)) for s, c in rec.get("areas") or ()),
        polygon=rec.get("polygon"),
        kinds=frozenset(rec.get("kinds") or ()),
        min_level=rec.get("min_level"),
        languages=frozenset(rec.get("languages") or ()),
        drills=bool(rec.get("drills")),
        target=rec.get("target") or {},
        created_at=rec.get("created_at") or "",
    )
