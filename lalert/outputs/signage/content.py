"""What a screen shows, decided from the active alerts: pure, no I/O, no clock.

``build`` returns the plain dict that is both the ``.json`` body and the template's
input. Everything that varies by place (shelters near the screen, Wi-Fi at hand) comes in
as arguments or through an injected ``ShelterFinder``, so the decision can be tested with
alerts built by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pyproj import Geod
from shapely.geometry import Point, shape

from lalert.geo.distance import walking_minutes
from lalert.geo.hazards import site_hazards
from lalert.geo.reports import ShelterBoard, is_open, status_of
from lalert.i18n import N_
from lalert.model import (
    EnrichedAlert,
    Grade,
    Hazard,
    NearbyHotspot,
    NearbyShelter,
    area_key,
    gravest,
    highest,
)
from lalert.outputs import phrases as public_phrases
from lalert.outputs.listing import area_names, ordered
from lalert.outputs.public import place_grades, unplaced_areas
from lalert.outputs.signage.screens import Screen
from lalert.vocab import LEVEL_COLOURS, SEVERITY_ORDER, SHELTER_HAZARDS
from lalert.vocab import levels as level_vocab
from lalert.vocab.jma import CLASS_LEVEL

SCHEMA = "lalert.signage/1"
COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
JAPAN_SSID = "00000JAPAN"  # 災害用統一SSID, opened by carriers only in a disaster
REPORTED_NEAR_M = 5000.0
STATUS_RANK = {"full": 2, "closed": 3, "unopened": 3}  # reported places outside the registry considered near a screen
OUT_OF_FORCE = frozenset({"lifted", "none"})
INFO_ONLY_KINDS = frozenset({"shelter", "headquarters", "damage", "system", "event"})
# Tables where short codes repeat across meanings: a bare code never matches these.
AMBIGUOUS_SCHEMES = frozenset(
    {"jma.eq_region", "jma.eq_pref", "jma.tsunami_region", "jma.volcano", "name", "geometry"}
)
# CAP severity → a level-equivalent, only for alerts that carry no 警戒レベル at all.
SEVERITY_LEVEL = {"Extreme": 5, "Severe": 4, "Moderate": 3, "Minor": 2}
_GEOD = Geod(ellps="WGS84")

Translate = Callable[[str, str], str]
"""``tr(lang, msgid)`` → the phrase in that language (gettext catalogues)."""


class ShelterFinder(Protocol):
    """Nearest designated sites fit for ``hazard`` and every one of ``hazards``."""

    def __call__(
        self, lat: float, lon: float, *, hazard: str | None, open_only: bool, limit: int,
        hazards: Collection[str] = (),
    ) -> Sequence[NearbyShelter]: ...


@dataclass(frozen=True)
class Match:
    """How an alert bears on one screen."""

    alert: EnrichedAlert
    level: int | None
    equivalent: bool  # a JMA "警戒レベル相当" or severity-derived level, not a municipal order
    # a JMA warning without 警戒レベル where the screen stands (大雪特別警報, 暴風警報 …):
    # its class and names, never a level made up from its severity
    grade: Grade | None = None
    # the hazards in force where the screen stands, not the telegram's everywhere
    # (十津川村's 大雨特別警報 beside 奈良市's 大雨注意報): what the screen names
    hazards: tuple[Hazard, ...] = ()

    @property
    def rank(self) -> int | None:
        """The level the match is ranked, coloured and taken over by: its 警戒レベル, else
        the one whose colour JMA paints its warning class in."""
        return self.level if self.level is not None or self.grade is None else (
            CLASS_LEVEL[self.grade[0]])

    @property
    def drill(self) -> bool:
        return self.alert.alert.status != "actual"


# --- coverage -------------------------------------------------------------------------


def _code_matches(scheme: str, code: str | None, wanted: Iterable[str]) -> bool:
    if not code:
        return False
    for w in wanted:
        if ":" in w:
            ws, wc = w.rsplit(":", 1)
            if ws == scheme and wc == code:
                return True
        elif w == code and scheme not in AMBIGUOUS_SCHEMES:
            return True
    return False


def _covers_point(geom: dict[str, Any] | None, lat: float, lon: float) -> bool:
    if not geom:
        return False
    try:
        return bool(shape(geom).covers(Point(lon, lat)))
    except (ValueError, TypeError, AttributeError, KeyError):  # malformed GeoJSON: no match
        return False


def match(ea: EnrichedAlert, screen: Screen) -> Match | None:
    """The alert's bearing on the screen, or None when it does not cover the screen."""
    a = ea.alert
    if a.info_type == "cancel":
        return None
    hit_codes: set[tuple[str, str]] = set()
    hit_areas = []
    for area in ea.active_areas():  # a 解除 / なし area never matches a screen
        if _code_matches(area.scheme, area.code, screen.areas) or (
            screen.has_point and _covers_point(area.geometry, screen.lat, screen.lon)  # type: ignore[arg-type]
        ):
            hit_codes.add((area.scheme, area.code or ""))
            hit_areas.append(area)
    footprint_hit = screen.has_point and _covers_point(ea.footprint, screen.lat, screen.lon)  # type: ignore[arg-type]
    in_force = [h for h in a.hazards if h.state not in OUT_OF_FORCE]
    # a hazard without an area code (CAP, Commons) applies wherever the alert does
    here = [h for h in in_force if (h.area_scheme, h.area_code or "") in hit_codes
            or (hit_codes and not h.area_code)]
    here = here or [
        h for h in in_force if _code_matches(h.area_scheme, h.area_code, screen.areas)
    ]
    if a.hazards and not here and not footprint_hit:
        return None  # hazards exist but none is in force where the screen stands
    if not a.hazards and not hit_codes and not footprint_hit:
        return None
    levelled = a.level is not None or any(h.level for h in in_force)
    if hit_areas and levelled:
        # the level in force where the screen stands, not the alert's highest anywhere
        # (a 注意報 town of a prefecture's 特別警報 telegram: Alert.area_levels)
        at = ea.area_levels()
        level = highest(at.get(area_key(ar)) for ar in hit_areas)
    else:
        levels = [h.level for h in (here or in_force) if h.level]
        level = a.level if a.level else (max(levels) if levels else None)
    # who says it: a municipality's order, or JMA's 相当 information (lalert.vocab.levels)
    equivalent = level_vocab.source(a.kind, level) == level_vocab.EQUIVALENT
    if level is None and not levelled and a.kind not in INFO_ONLY_KINDS:
        grade = (gravest(place_grades(ea, hit_areas).values()) if hit_areas
                 else a.grade())
        if grade is not None:  # 暴風警報 is no "警戒レベル4相当 全員避難": it says what it is
            return Match(ea, None, False, grade, tuple(here or in_force))
    if level is None and not levelled:  # CAP and others without any 警戒レベル
        sev = max((h.severity for h in here), key=SEVERITY_ORDER.get, default=a.severity)
        level = SEVERITY_LEVEL.get(max(a.severity, sev, key=SEVERITY_ORDER.get))
        equivalent = True
    if a.kind in INFO_ONLY_KINDS:
        level = None
    return Match(ea, level, equivalent, hazards=tuple(here or in_force))


def _ranked(matches: list[Match]) -> list[Match]:
    """Real before drills (an exercise never hides a real alert), then the one order of
    every listing (``lalert.outputs.listing.ordered``: level, then newest) with the level
    as it bears on this screen."""
    by_alert = {id(m.alert): m for m in matches}
    order = ordered((m.alert for m in matches), level_of=lambda ea: by_alert[id(ea)].rank)
    return sorted((by_alert[id(ea)] for ea in order), key=lambda m: m.drill)


def _shown(screen: Screen, alerts: Iterable[EnrichedAlert], now: datetime | None
           ) -> Iterable[EnrichedAlert]:
    """The alerts a screen may show: real ones (drills only on drill screens), unexpired."""
    for ea in alerts:
        a = ea.alert
        if a.status != "actual" and not (screen.drills and a.status in ("exercise", "test")):
            continue
        if now is not None and a.valid_until and _expired(a.valid_until, now):
            continue
        yield ea


def matches_for(
    screen: Screen, alerts: Iterable[EnrichedAlert], *, now: datetime | None = None
) -> list[Match]:
    """Alerts covering the screen, most severe first; drills only on drill screens."""
    return _ranked([m for ea in _shown(screen, alerts, now) if (m := match(ea, screen))])


def unplaced_for(
    screen: Screen, alerts: Iterable[EnrichedAlert], *, now: datetime | None = None
) -> list[Match]:
    """Alerts at or above the screen's ``min_level`` that no screen can be matched
    against: no footprint, and none of their places has a shape or a code the screen
    lists (a 大津波警報's forecast regions before their polygons are imported). Whether
    one covers the screen is unknown, so it is named — never taken over by, never left
    out as if the screen were clear. Ranked like the matches, by the alert's gravest."""
    out = []
    for ea in _shown(screen, alerts, now):
        a = ea.alert
        if a.info_type == "cancel" or not unplaced_areas(ea) or match(ea, screen):
            continue
        grade = None if a.level is not None else a.grade()
        m = Match(ea, a.level, level_vocab.source(a.kind, a.level) == level_vocab.EQUIVALENT,
                  grade, tuple(h for h in a.hazards if h.state not in OUT_OF_FORCE))
        if m.rank is not None and m.rank >= screen.min_level:
            out.append(m)
    return _ranked(out)


def _expired(valid_until: str, now: datetime) -> bool:
    try:
        until = datetime.fromisoformat(valid_until)
    except ValueError:
        return False
    if until.tzinfo is None or now.tzinfo is None:
        return False
    return until <= now


# --- shelters near the screen ---------------------------------------------------------


def compass(bearing_deg: float) -> str:
    return COMPASS[round((bearing_deg % 360) / 45) % 8]


def _shelter_view(s: NearbyShelter, screen: Screen, board: ShelterBoard) -> dict[str, Any]:
    c = board.get(s.id)
    bearing = getattr(s, "bearing_deg", None)
    dist = s.distance_m
    if screen.has_point:
        fwd, _back, d = _GEOD.inv(screen.lon, screen.lat, s.lon, s.lat)
        bearing, dist = (fwd if bearing is None else bearing), d
    # the board's latest report; else the site's state as the view overlaid it from the same board
    status = c.status if c else status_of(s.state, s.crowding)
    return {
        "id": s.id,
        "name": s.name,
        "state": status,  # open | crowded | full | closed | unopened | permanent | unknown
        "open": is_open(status),  # never a full one
        "capacity": c.report.capacity if c else s.capacity,
        "head_count": c.report.head_count if c else s.head_count,
        "lat": s.lat,
        "lon": s.lon,
        "distance_m": round(dist),
        "walk_min": walking_minutes(dist),
        "bearing_deg": None if bearing is None else round(bearing % 360),
        "direction": None if bearing is None else compass(bearing),
        "hazards": list(s.hazards),
        "fits_hazard": s.fits_hazard,
    }


def _reported_nearby(board: ShelterBoard, screen: Screen, max_m: float) -> list[NearbyShelter]:
    """Open places the city reported that are in no registry but have a point of their own:
    the city opened them for this event, so they count whatever their (unknown) designations."""
    out = []
    for c in board.unmatched():
        s = c.report
        if not c.open or s.lat is None or s.lon is None or not screen.has_point:
            continue
        _f, _b, d = _GEOD.inv(screen.lon, screen.lat, s.lon, s.lat)
        if d <= max_m:
            out.append(NearbyShelter(id=c.key, name=s.name, lat=s.lat, lon=s.lon, hazards=(),
                                     fits_hazard=None, distance_m=d, inside=False, state=s.state))
    return out


def _shelters(
    screen: Screen,
    hazards: tuple[str, ...],
    find: ShelterFinder | None,
    fallback: Iterable[NearbyShelter],
    board: ShelterBoard,
    limit: int,
) -> list[dict[str, Any]]:
    """Nearby facilities designated for every one of ``hazards`` (those in force where
    the screen stands), each once, open ones first, then the nearest."""
    found: Sequence[NearbyShelter] = ()
    hazard = hazards[0] if hazards else None
    if find is not None and screen.has_point:
        found = find(screen.lat, screen.lon, hazard=hazard, open_only=False,  # type: ignore[arg-type]
                     limit=limit * 4, hazards=hazards)
    if not found:
        found = list(fallback)
    seen: set[str] = set()
    found = [s for s in found if not (s.id in seen or seen.add(s.id))]  # type: ignore[func-returns-value]
    views = [_shelter_view(s, screen, board) for s in found]
    if hazards:  # a site is designated per hazard: one unfit for any in force is no refuge
        views = [v for v in views if v["fits_hazard"] is not False
                 and set(hazards) <= set(v["hazards"])]
    views += [_shelter_view(s, screen, board) for s in _reported_nearby(board, screen, REPORTED_NEAR_M)
              if s.id not in seen]
    # open first; then sites with no report (they may be usable); full; closed last
    views.sort(key=lambda v: (0 if v["open"] else STATUS_RANK.get(v["state"], 1), v["distance_m"]))
    return views[:limit]


def _site_hazards(matches: Iterable[Match]) -> tuple[str, ...]:
    """The site hazards in force where the screen stands: those of the hazards each alert
    has in force there (``Match.hazards``), else the alert's own (``hazard_tags``), in
    ``SHELTER_HAZARDS`` order."""
    found: set[str] = set()
    for m in matches:
        found.update(site_hazards(m.alert.alert.kind, m.hazards) or m.alert.hazard_tags)
    return tuple(t for t in SHELTER_HAZARDS if t in found)


# --- the content dict -----------------------------------------------------------------


def _alert_view(m: Match) -> dict[str, Any]:
    a = m.alert.alert
    return {
        "id": a.id,
        "kind": a.kind,
        "status": a.status,
        "drill": m.drill,
        "title": a.title,
        "headline": a.headline,
        "text": a.text,
        "publisher": a.publisher,
        "issued_at": a.issued_at,
        "valid_until": a.valid_until,
        "level": m.level,
        "level_equivalent": m.equivalent,
        "grade": m.grade[0] if m.grade else None,
        "grade_names": list(m.grade[1]) if m.grade else [],
        "paint": m.rank,  # the level whose colour the alert is shown in
        "instruction": a.instruction,
        "colour": LEVEL_COLOURS.get(m.rank or 0),
        "hazards": list(m.alert.hazard_tags),
        "hazard_names": sorted({h.name for h in m.hazards})[:6],
        "areas": area_names(x for x in m.alert.active_areas() if x.name)[:8],
        "_footprint": m.alert.footprint,  # for the SVG map; not in the public .json
    }


def unplaced_views(screen: Screen, unplaced: Iterable[Match]) -> list[dict[str, Any]]:
    """The views of ``unplaced_for``'s alerts: a JMA warning's places grouped by the
    class in force at each (大津波警報 beside 岩手県, 津波警報 beside 茨城県), gravest
    first, classes below the screen's ``min_level`` left out — never the gravest class
    over every region of the telegram."""
    out = []
    for m in unplaced:
        view = _alert_view(m)
        if m.grade is None:
            out.append(view)
            continue
        by_class: dict[int, tuple[dict[str, None], list[str]]] = {}
        for name, (cls, names) in place_grades(m.alert, m.alert.active_areas()).items():
            warned, places = by_class.setdefault(cls, ({}, []))
            warned.update(dict.fromkeys(names))
            places.append(name)
        for cls in sorted(by_class, reverse=True):
            if CLASS_LEVEL[cls] >= screen.min_level:
                warned, places = by_class[cls]
                out.append({**view, "grade": cls, "grade_names": list(warned),
                            "paint": CLASS_LEVEL[cls], "colour": LEVEL_COLOURS[CLASS_LEVEL[cls]],
                            "areas": places[:8]})
    return out


def build(
    screen: Screen,
    alerts: Sequence[EnrichedAlert],
    *,
    now: datetime | None = None,
    find_shelters: ShelterFinder | None = None,
    hotspots: Sequence[NearbyHotspot] = (),
    wifi_00000japan: bool = False,
    map_url: str | None = None,
    tr: Translate | None = None,
) -> dict[str, Any]:
    """The screen's content: normal, or takeover by the most severe covering alert."""
    matches = matches_for(screen, alerts, now=now)
    board = ShelterBoard(alerts)
    takeover = [m for m in matches if m.rank is not None and m.rank >= screen.min_level]
    info = [m for m in matches if m not in takeover]
    main = takeover[0] if takeover else None
    hazards = _site_hazards(matches) if main else ()
    named = _site_hazards([main]) if main else ()  # what the main alert is about, named
    hazard = named[0] if named else None
    fallback = [s for m in matches for s in m.alert.shelters]
    open_only = False
    if main:
        shelters = _shelters(screen, hazards, find_shelters, fallback, board, 3)
        open_only = any(v["open"] for v in shelters)
        if open_only:  # only open ones under "Nearest open shelters": full and closed are not offered
            shelters = [v for v in shelters if v["open"]]
    else:
        shelters = _shelters(screen, (), find_shelters, fallback, board, 4)
    # 00000JAPAN is shown only through the desk's declaration, never because a list has it
    ssids = [x for x in dict.fromkeys([*screen.wifi_ssids, *(h.ssid for h in hotspots if h.ssid)])
             if x.upper() != JAPAN_SSID]
    body: dict[str, Any] = {
        "schema": SCHEMA,
        "screen": {
            "id": screen.id,
            "name": screen.name,
            "lat": screen.lat,
            "lon": screen.lon,
            "orientation": screen.orientation,
            "languages": list(screen.languages),
            "rotate_seconds": screen.rotate_seconds,
            "poll_seconds": screen.poll_seconds,
            "stale_seconds": screen.stale_seconds,
        },
        "mode": "takeover" if main else "normal",
        "drill": bool(main and main.drill),
        "main": _alert_view(main) if main else None,
        "others": [_alert_view(m) for m in takeover[1:]],
        "info": [_alert_view(m) for m in info][:4],
        # in force where no screen can be placed: named, the screen may lie inside
        "unplaced": unplaced_views(screen, unplaced_for(screen, alerts, now=now))[:3],
        "shelters": shelters,
        "shelters_open_only": open_only,
        "hazard": hazard,
        "wifi": {"ssids": ssids[:3], "japan_open": wifi_00000japan},
        "map_url": map_url,
    }
    if tr is not None:
        body["text"] = {lang: phrases(body, lang, tr) for lang in screen.languages}
    return body


# --- translated phrases (for players drawing their own page, and for the template) -----

# msgids of the one catalogue (lalert.i18n): the same words as the desk, map and feeds
LEVEL_WORDS = dict(level_vocab.LEVEL_NAMES)
LEVEL_ACTIONS = dict(level_vocab.LEVEL_ACTIONS)
LEVEL_BADGES = {True: level_vocab.BADGES[level_vocab.EQUIVALENT],  # by "equivalent"
                False: level_vocab.BADGES[level_vocab.ORDER]}
GRADE_WORDS = public_phrases.WARNING_CLASS_WORDS
INSTRUCTION = public_phrases.UI["instruction"]
DIRECTIONS = public_phrases.DIRECTIONS
HAZARDS = public_phrases.HAZARD_NAMES
DISTANCE = N_("%(dir)sへ %(m)s m・徒歩約%(min)s分")
STATES = public_phrases.SHELTER_STATES


def level_label(level: int, equivalent: bool, lang: str, tr: Translate) -> str:
    return tr(lang, LEVEL_BADGES[equivalent]) % {"n": level}


def phrases(body: dict[str, Any], lang: str, tr: Translate) -> dict[str, Any]:
    """Dynamic words of one language: level, action, hazard, shelter directions."""
    out: dict[str, Any] = {}
    main = body.get("main")
    if main and main["level"]:
        out["level"] = level_label(main["level"], main["level_equivalent"], lang, tr)
        if not main["level_equivalent"]:  # 相当 information orders nothing: no order name
            out["level_words"] = tr(lang, LEVEL_WORDS[main["level"]])
        out["action"] = tr(lang, LEVEL_ACTIONS[main["level"]])
    elif main and main.get("grade"):
        out["level"] = tr(lang, GRADE_WORDS[main["grade"]])
        out["level_words"] = "・".join(main["grade_names"])
    if body.get("hazard") in HAZARDS:
        out["hazard"] = tr(lang, HAZARDS[body["hazard"]])
    out["shelters"] = [
        {
            "state": tr(lang, STATES.get(s["state"], STATES["unknown"])),
            "direction": tr(lang, DIRECTIONS[s["direction"]]) if s["direction"] else None,
            "distance": tr(lang, DISTANCE) % {
                "m": f"{s['distance_m']:,}",
                "dir": tr(lang, DIRECTIONS[s["direction"]]),
                "min": s["walk_min"],
            }
            if s["direction"]
            else None,
        }
        for s in body["shelters"]
    ]
    return out
