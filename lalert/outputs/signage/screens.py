"""Screen configuration: where each signage screen stands and how it behaves.

Screens come from the ``screens`` list of the signage section of the daemon's TOML
(``[[signage.screens]]`` or ``[[outputs.signage.screens]]``) and may be replaced at run
time by the desk (``OutputContext.settings["signage.screens"]``). A screen id becomes part
of a URL and an export file name, so it is checked against a strict pattern here, once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

LANGS: tuple[str, ...] = ("ja", "en", "zh_Hans", "ko", "ja_x_easy")
"""Languages a screen can rotate through; ``ja_x_easy`` is やさしい日本語."""

HTML_LANG: dict[str, str] = {
    "ja": "ja",
    "en": "en",
    "zh_Hans": "zh-Hans",
    "ko": "ko",
    "ja_x_easy": "ja-x-easy",
}

ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class ScreenConfigError(ValueError):
    """A screen definition that cannot be used (the message names the screen)."""


@dataclass(frozen=True)
class Screen:
    """One screen. ``areas`` hold area codes, preferably ``scheme:code`` (``jma.city:4310000``)."""

    id: str
    name: str
    lat: float | None = None
    lon: float | None = None
    areas: tuple[str, ...] = ()
    languages: tuple[str, ...] = LANGS
    rotate_seconds: int = 15
    orientation: str = "landscape"
    width: int = 1920
    height: int = 1080
    min_level: int = 3
    drills: bool = False
    wifi_ssids: tuple[str, ...] = ()
    map_url: str | None = None
    poll_seconds: int = 5
    stale_seconds: int = 60

    @property
    def has_point(self) -> bool:
        return self.lat is not None and self.lon is not None


def _float(raw: Any, what: str, sid: str, lo: float, hi: float) -> float | None:
    if raw is None:
        return None
    try:
        val = float(raw)
    except (TypeError, ValueError):
        raise ScreenConfigError(f"screen {sid!r}: {what} must be a number") from None
    if not lo <= val <= hi:
        raise ScreenConfigError(f"screen {sid!r}: {what} {val} out of range")
    return val


def _int(raw: Any, default: int, what: str, sid: str, lo: int, hi: int) -> int:
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, int) or not lo <= raw <= hi:
        raise ScreenConfigError(f"screen {sid!r}: {what} must be an integer {lo}..{hi}")
    return raw


def _strs(raw: Any, what: str, sid: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(x, (str, int)) for x in raw):
        raise ScreenConfigError(f"screen {sid!r}: {what} must be a list of strings")
    return tuple(str(x) for x in raw)


def parse_screen(raw: Mapping[str, Any], default_id: str | None = None) -> Screen:
    """One screen from its TOML table; raises ``ScreenConfigError`` with a useful message."""
    sid = str(raw.get("id", default_id or ""))
    if not ID_RE.match(sid):
        raise ScreenConfigError(
            f"screen id {sid!r} must be 1-63 lower-case letters, digits, '-' or '_'"
        )
    lat = _float(raw.get("lat"), "lat", sid, -90, 90)
    lon = _float(raw.get("lon"), "lon", sid, -180, 180)
    if (lat is None) != (lon is None):
        raise ScreenConfigError(f"screen {sid!r}: give both lat and lon, or neither")
    areas = _strs(raw.get("areas", raw.get("area_codes")), "areas", sid)
    if lat is None and not areas:
        raise ScreenConfigError(f"screen {sid!r}: needs a location (lat/lon) or area codes")
    langs = _strs(raw.get("languages"), "languages", sid) or LANGS
    bad = [x for x in langs if x not in LANGS]
    if bad:
        raise ScreenConfigError(f"screen {sid!r}: unknown language(s) {bad}; known: {LANGS}")
    orientation = str(raw.get("orientation", "landscape"))
    if orientation not in ("landscape", "portrait"):
        raise ScreenConfigError(f"screen {sid!r}: orientation is landscape or portrait")
    dw, dh = (1920, 1080) if orientation == "landscape" else (1080, 1920)
    wifi = raw.get("wifi_ssids", raw.get("wifi_ssid"))
    map_url = raw.get("map_url")
    if map_url is not None and not str(map_url).startswith(("http://", "https://", "/")):
        raise ScreenConfigError(f"screen {sid!r}: map_url must be http(s) or a path")
    return Screen(
        id=sid,
        name=str(raw.get("name") or sid),
        lat=lat,
        lon=lon,
        areas=areas,
        languages=langs,
        rotate_seconds=_int(raw.get("rotate_seconds"), 15, "rotate_seconds", sid, 3, 3600),
        orientation=orientation,
        width=_int(raw.get("width"), dw, "width", sid, 100, 16384),
        height=_int(raw.get("height"), dh, "height", sid, 100, 16384),
        min_level=_int(raw.get("min_level"), 3, "min_level", sid, 1, 5),
        drills=bool(raw.get("drills", False)),
        wifi_ssids=_strs(wifi, "wifi_ssids", sid),
        map_url=str(map_url) if map_url else None,
        poll_seconds=_int(raw.get("poll_seconds"), 5, "poll_seconds", sid, 1, 600),
        stale_seconds=_int(raw.get("stale_seconds"), 60, "stale_seconds", sid, 2, 86400),
    )


def parse_screens(raw: Any) -> dict[str, Screen]:
    """Screens by id from a list of tables or a table of tables keyed by id."""
    if raw is None:
        return {}
    items: Iterable[tuple[str | None, Mapping[str, Any]]]
    if isinstance(raw, Mapping):
        items = [(str(k), v) for k, v in raw.items()]
    elif isinstance(raw, list):
        items = [(None, v) for v in raw]
    else:
        raise ScreenConfigError("screens must be a list of tables or a table keyed by id")
    out: dict[str, Screen] = {}
    for default_id, table in items:
        if not isinstance(table, Mapping):
            raise ScreenConfigError(f"screen {default_id or '?'}: must be a table")
        screen = parse_screen(table, default_id)
        if screen.id in out:
            raise ScreenConfigError(f"screen id {screen.id!r} is defined twice")
        out[screen.id] = screen
    return out
