"""What the public map draws and answers, as plain JSON-ready dicts (no HTTP, no clock).

``map_data`` is rendered once per state version and language; ``Here`` answers "where am
I" from an index built once per version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping

from lalert.geo.distance import walking_minutes
from lalert.geo.hazards import place_hazard_tags
from lalert.geo.reports import UNAVAILABLE, ShelterBoard, is_open
from lalert.model import Area, EnrichedAlert, area_key, gravest, highest
from lalert.outputs import phrases
from lalert.outputs.listing import RegionFilter, area_names, ordered
from lalert.outputs.public import (
    Grade,
    by_level,
    place_grades,
    place_levels,
    reported_records,
    shaped_areas,
    shelter_board,
    site_statuses,
    status_label,
    unplaced_areas,
)
from lalert.vocab import LEVEL_COLOURS, SHELTER_HAZARDS
from lalert.vocab.jma import CLASS_LEVEL

NO_LEVEL_COLOUR = "#5a5a5a"
SUMMARY_CHARS = 120


def _geojson(geom: Any, tolerance: float = 0.0003) -> dict[str, Any]:
    """Simplified (≈30 m) and rounded to 1e-5° (≈1 m): small enough for a phone. A shape
    a sender drew crossing itself (a bow-tie) is made valid first: GEOS refuses to round
    it, and that refusal was a 500 for every reader of the map."""
    if not shapely.is_valid(geom):
        geom = shapely.make_valid(geom)
    small = shapely.set_precision(shapely.simplify(geom, tolerance, preserve_topology=True), 1e-5)
    return mapping(geom if small.is_empty else small)


def _hazard_list(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        return [v for v in value.replace(";", ",").split(",") if v]
    return [str(v) for v in value]


def alert_summary(ea: EnrichedAlert, lang: str) -> dict[str, Any]:
    """What the list, the popup and "where am I" say of one alert (labels from vocab)."""
    a = ea.alert
    return {
        "id": a.id,
        "level": a.level,
        "kind": a.kind,
        "kind_name": phrases.kind_name(a.kind, lang),
        "title": a.title,
        "headline": a.headline or a.title,
        # what a list line shows: the headline when it is one line, else the title (a JMA
        # Headline is often paragraphs, repeating the advice shown below it)
        "summary": a.headline if a.headline and len(a.headline) <= SUMMARY_CHARS
        and "\n" not in a.headline else a.title,
        "level_label": phrases.level_label(a.level, a.kind, ea.hazard_tags, lang),
        "level_badge": phrases.level_badge(a.level, a.kind, lang),
        "action": phrases.level_action(a.level, lang),
        "instruction": a.instruction,
        "publisher": a.publisher,
        "areas": area_names(ea.areas or a.areas),
        "issued_at": a.issued_at,
        "hazards": list(ea.hazard_tags),
        "drill": not a.is_real,
        **grade_fields(a.level, a.grade(), lang),
    }


def grade_fields(level: int | None, grade: Grade | None, lang: str) -> dict[str, Any]:
    """Where no 警戒レベル applies but a JMA warning does (大雪特別警報, 暴風警報 …): its class
    in words (``grade_word``), the level whose colour it takes (``grade_level``, JMA's
    own warning colours) and the warnings' names as the label. Never "no level" grey
    for the gravest warning there is."""
    if level is not None or grade is None:
        return {"grade_level": None, "grade_word": None}
    return {"grade_level": CLASS_LEVEL[grade[0]],
            "grade_word": phrases.warning_class_word(grade[0], lang),
            "level_label": phrases.grade_label(level, grade, lang)}


def place_labels(ea: EnrichedAlert, lang: str) -> dict[str, tuple[int, str]]:
    """What is said of each place in force, by the name listed, with the rank it is
    ordered by: its own level label (``public.place_levels``), or the class of the warning
    in force there where no level applies (``public.place_grades``, ranked by the class's
    colour), or else the names of what is in force there (``Alert.area_hazards``:
    津波予報（若干の海面変動）, rank 0) — never the alert's gravest elsewhere."""
    active = ea.active_areas()
    grades = place_grades(ea, active)
    out: dict[str, tuple[int, str]] = {}
    for name, lv in place_levels(ea, active).items():
        grade = grades.get(name)
        label = (phrases.level_label(lv, ea.alert.kind, ea.hazard_tags, lang)
                 or phrases.grade_label(lv, grade, lang) or "")
        out[name] = (lv or (CLASS_LEVEL[grade[0]] if grade and lv is None else 0), label)
    if all(label for _rank, label in out.values()):
        return out
    in_force: dict[str, dict[str, None]] = {}  # name → hazard names, once each, in order
    by_area = ea.alert.area_hazards()
    for a in active:
        name = a.name or a.code or ""
        if name in out and not out[name][1]:
            in_force.setdefault(name, {}).update(
                dict.fromkeys(h.name for h in by_area.get(area_key(a), ()) if h.name))
    return {**out, **{name: (out[name][0], "・".join(names)) for name, names in in_force.items()}}


def unplaced_groups(ea: EnrichedAlert, names: Sequence[str], lang: str
                    ) -> list[dict[str, Any]]:
    """The places of ``names`` grouped by what is said of them (``place_labels``),
    gravest first, each group's names capped: a resident who cannot be placed reads
    大津波警報 beside 宮城県 and 津波予報（若干の海面変動） beside 有明・八代海, not the
    gravest over a list that may not even show their own region."""
    said = place_labels(ea, lang)
    groups: dict[str, tuple[int, list[str]]] = {}
    for name in names:
        rank, label = said.get(name, (0, ""))
        groups.setdefault(label, (rank, []))[1].append(name)
    return [{"level_label": label or None, "places": places[:UNPLACED_NAMES],
             "more_places": max(0, len(places) - UNPLACED_NAMES)}
            for label, (_rank, places) in sorted(groups.items(), key=lambda g: -g[1][0])]


def paint_level(props: dict[str, Any]) -> int:
    """The level whose colour and weight a feature is drawn in (its grade's without one)."""
    return props.get("level") or props.get("grade_level") or 0


def level_fields(level: int | None, ea: EnrichedAlert, lang: str,
                 grade: Grade | None = None) -> dict[str, Any]:
    """What a place says of its own level (``EnrichedAlert.area_levels``) or, without one,
    of the warning class in force there (``public.place_grades``): the same keys as
    ``alert_summary``, for that place."""
    kind = ea.alert.kind
    return {"level": level,
            "level_label": phrases.level_label(level, kind, ea.hazard_tags, lang),
            "level_badge": phrases.level_badge(level, kind, lang),
            "action": phrases.level_action(level, lang),
            **grade_fields(level, grade, lang)}


def _by_name(ea: EnrichedAlert) -> list[tuple[Any, Area | None, int | None, Grade | None]]:
    """Shaped areas once per place name, with the level and warning class in force there:
    one place under several code schemes is one polygon and one label on the map."""
    shaped = shaped_areas(ea)
    named = [area for _geom, area in shaped if area is not None]
    levels, grades = place_levels(ea, named), place_grades(ea, named)
    groups: dict[str, tuple[list[Any], Area | None]] = {}
    for geom, area in shaped:
        key = (area.name or area.code or "") if area else ""
        groups.setdefault(key, ([], area))[0].append(geom)
    return [(geoms[0] if len(geoms) == 1 else shapely.union_all(shapely.make_valid(geoms)), area,
             levels.get(key, ea.alert.level) if area else ea.alert.level,
             grades.get(key) if area else ea.alert.grade())
            for key, (geoms, area) in groups.items()]


def alert_features(alerts: Sequence[EnrichedAlert], lang: str) -> dict[str, Any]:
    """One GeoJSON feature per place in force, coloured and labelled with the level in
    force *there* (a 注意報 town of a prefecture's 特別警報 telegram is not level 5),
    lowest level first (the most severe is drawn on top), with a label point."""
    feats = []
    for ea in by_level(alerts):
        summary = alert_summary(ea, lang)
        for geom, area, level, grade in _by_name(ea):
            label = geom.representative_point()
            props = {**summary, **level_fields(level, ea, lang, grade),
                     "area": (area.name or area.code) if area else None,
                     "label": [round(label.x, 5), round(label.y, 5)]}
            props["colour"] = LEVEL_COLOURS.get(paint_level(props), NO_LEVEL_COLOUR)
            feats.append({"type": "Feature", "geometry": _geojson(geom), "properties": props})
    # the most severe drawn last, on top (stable: same-level order kept)
    feats.sort(key=lambda f: paint_level(f["properties"]))
    return {"type": "FeatureCollection", "features": feats}


def shelter_records(geo: Any, alerts: Sequence[EnrichedAlert], lang: str) -> list[dict[str, Any]]:
    """Every facility once, with its hazards and the state of its latest report, and every
    reported shelter that matches no facility but has a point of its own."""
    shelters = getattr(geo, "shelters", None)
    board = shelter_board(alerts)
    statuses = site_statuses(alerts, board)
    out = [r for r in reported_records(board, lang) if r["lat"] is not None and r["lon"] is not None]
    if shelters is None:
        return out
    for r in shelters.itertuples():
        c = board.get(str(r.id))
        state = statuses.get(str(r.id), "unknown")
        out.append({
            "id": str(r.id), "name": r.name, "lat": round(float(r.geometry.y), 6),
            "lon": round(float(r.geometry.x), 6), "kind": getattr(r, "kind", None),
            "hazards": _hazard_list(getattr(r, "hazards", None)), "state": state,
            "state_label": status_label(c, lang) if c else phrases.shelter_state(state, lang),
            "open": is_open(state),
            **({"capacity": c.report.capacity, "head_count": c.report.head_count} if c else {}),
        })
    return out


def unplaced_records(alerts: Sequence[EnrichedAlert], lang: str) -> list[dict[str, Any]]:
    """Reported shelters with neither a registry facility nor a point: listed by name."""
    return [r for r in reported_records(shelter_board(alerts), lang) if r["lat"] is None or r["lon"] is None]


def hotspot_records(geo: Any) -> list[dict[str, Any]]:
    hotspots = getattr(geo, "hotspots", None)
    if hotspots is None or not len(hotspots):
        return []
    return [{"id": str(r.id), "name": r.name, "ssid": getattr(r, "ssid", None),
             "lat": round(float(r.geometry.y), 6), "lon": round(float(r.geometry.x), 6)}
            for r in hotspots.itertuples()]


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def map_data(alerts: Sequence[EnrichedAlert], geo: Any, *, lang: str, version: int,
             updated: str, region: RegionFilter | None = None, everything: bool = False
             ) -> dict[str, Any]:
    """``alerts`` (features to draw) and ``list`` (the panel's list, in the one order of
    every listing) hold what covers the region, or everything when asked."""
    real = [a for a in alerts if a.alert.is_real]
    shown = (region.apply(real, everything=everything) if region is not None
             else ordered(real))
    data = {
        "version": version,
        "updated": updated,
        "lang": lang,
        "all": everything,
        "list": [alert_summary(ea, lang) for ea in shown],
        "alerts": alert_features(shown, lang),
        "shelters": shelter_records(geo, real, lang),
        "reported_unplaced": unplaced_records(real, lang),
        "hotspots": hotspot_records(geo),
    }
    for rec in data["shelters"] + data["hotspots"]:
        for k, v in rec.items():
            rec[k] = _json_safe(v)
    return data


UNPLACED_NAMES = 12  # place names listed per alert lalert cannot place (then "+N")


@dataclass
class Here:
    """Answers "which alerts cover this point, which open shelters fit, how far on foot"."""

    alerts: list[EnrichedAlert]
    geoms: np.ndarray
    owners: list[int]
    tree: shapely.STRtree
    geo: Any
    board: ShelterBoard
    statuses: dict[str, str]
    levels: list[int | None]  # per geometry: the level in force in that place
    grades: list[Grade | None]  # per geometry: the warning class in force there
    unplaced: list[tuple[EnrichedAlert, list[str]]]  # alerts with places no shape stands for
    tags: list[tuple[str, ...]]  # per geometry: the site hazards in force there

    @classmethod
    def build(cls, alerts: Sequence[EnrichedAlert], geo: Any) -> Here:
        real = [a for a in alerts if a.alert.is_real]
        geoms, owners, levels, grades, tags = [], [], [], [], []
        for i, ea in enumerate(real):
            by_area, by_grade = ea.area_levels(), ea.alert.area_grades()
            by_tags = place_hazard_tags(ea.alert)
            for geom, area in shaped_areas(ea):
                geoms.append(geom)
                owners.append(i)
                levels.append(by_area.get(area_key(area), ea.alert.level) if area
                              else ea.alert.level)
                grades.append(by_grade.get(area_key(area)) if area else ea.alert.grade())
                tags.append((by_tags.get(area_key(area)) if area else None) or ea.hazard_tags)
        arr = np.asarray(geoms, dtype=object)
        board = shelter_board(real)
        unplaced = [(ea, names) for ea in ordered(real)
                    if (names := list(dict.fromkeys(ar.name or ar.code or "?"
                                                    for ar in unplaced_areas(ea))))]
        return cls(real, arr, owners, shapely.STRtree(arr), geo, board, site_statuses(real, board),
                   levels, grades, unplaced, tags)

    def covering(self, lat: float, lon: float) -> list[EnrichedAlert]:
        return [ea for ea, _level, _grade in self.covering_levels(lat, lon)]

    def covering_levels(self, lat: float, lon: float
                        ) -> list[tuple[EnrichedAlert, int | None, Grade | None]]:
        """The alerts covering the point, each with the level and the warning class in
        force at the point (the highest of its places that contain it)."""
        idx = self.tree.query(shapely.Point(lon, lat), predicate="intersects")
        at: dict[int, list[int]] = {}
        for i in idx:
            at.setdefault(self.owners[i], []).append(i)
        owner = {id(self.alerts[o]): o for o in at}
        out = []
        for ea in ordered(self.alerts[o] for o in sorted(at)):
            rows = at[owner[id(ea)]]
            out.append((ea, highest(self.levels[i] for i in rows),
                        gravest(self.grades[i] for i in rows)))
        return out

    def hazards_at(self, lat: float, lon: float) -> tuple[str, ...]:
        """The site hazards in force at the point: those of every alert's places that
        contain it (``place_hazard_tags``), in ``SHELTER_HAZARDS`` order."""
        rows = self.tree.query(shapely.Point(lon, lat), predicate="intersects")
        found = {t for i in rows for t in self.tags[i]}
        return tuple(t for t in SHELTER_HAZARDS if t in found)

    def nearest(self, lat: float, lon: float, *, hazard: str | None, limit: int = 5,
                max_m: float = 5000.0, hazards: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Nearest sites that fit ``hazard`` (and every one of ``hazards``) and are not
        known closed or full, by geodesic distance; reported-open places outside the
        registry count too.

        Most designated sites never report a state (outdoor evacuation sites are always
        usable), so "open" here means open or not reported closed; the state is shown.
        """
        from lalert.geo.query import nearest_shelters

        out: list[dict[str, Any]] = []
        if getattr(self.geo, "shelters", None) is not None:
            found = nearest_shelters(self.geo, lat=lat, lon=lon, hazard=hazard, limit=limit * 4,
                                     max_m=max_m, hazards=hazards)
            for s in found:
                state = self.statuses.get(s.id, "unknown")
                if state in UNAVAILABLE:
                    continue
                out.append({"id": s.id, "name": s.name, "hazards": list(s.hazards),
                            "state": state, "lat": s.lat, "lon": s.lon,
                            "distance_m": round(s.distance_m), "address": s.address,
                            "open": is_open(state)})
        opened = [m for m in reported_records(self.board, "ja")
                  if m["open"] and m["lat"] is not None and m["lon"] is not None]
        if opened:
            from lalert.geo.distance import point_distances

            dist, _ = point_distances(lon, lat, np.array([m["lon"] for m in opened]),
                                      np.array([m["lat"] for m in opened]))
            out += [{**{k: m[k] for k in ("id", "name", "hazards", "state", "lat", "lon",
                                           "address", "open")}, "distance_m": round(float(d))}
                    for m, d in zip(opened, dist, strict=True) if d <= max_m]
        # open (and not full) first, then the nearest
        out.sort(key=lambda o: (not o["open"], o["distance_m"]))
        for o in out:
            o["walk_min"] = walking_minutes(o["distance_m"])
        return out[:limit]

    def answer(self, lat: float, lon: float, *, lang: str, hazard: str | None = None
               ) -> dict[str, Any]:
        found = self.covering_levels(lat, lon)
        # the hazard asked for, else every hazard in force here: a site is designated per
        # hazard, and one unfit for any of them (a riverbank under a 洪水警報) is no refuge
        hazards = (hazard,) if hazard else self.hazards_at(lat, lon)
        hazard = hazards[0] if hazards else None
        shelters = self.nearest(lat, lon, hazard=hazard, hazards=hazards)
        for s in shelters:
            c = self.board.get(s["id"])
            s["state_label"] = status_label(c, lang) if c else phrases.shelter_state(s["state"], lang)
            s["hazard_names"] = [phrases.hazard_name(h, lang) for h in s["hazards"]]
        covered = {id(ea) for ea, _level, _grade in found}
        # in force at places lalert has no shape for: maybe here too, so named, never hidden
        unplaced = [{**alert_summary(ea, lang), "places": names[:UNPLACED_NAMES],
                     "more_places": max(0, len(names) - UNPLACED_NAMES),
                     "groups": unplaced_groups(ea, names, lang)}
                    for ea, names in self.unplaced if id(ea) not in covered]
        return {"lat": lat, "lon": lon, "hazard": hazard, "hazards": list(hazards),
                "alerts": [{**alert_summary(ea, lang), **level_fields(level, ea, lang, grade)}
                           for ea, level, grade in found], "unplaced": unplaced,
                "shelters": shelters}


JAPAN = (122.0, 20.0, 154.0, 46.0)  # w, s, e, n: a site outside is a geocoding slip
MUNICIPAL_SCHEMES = ("n03", "lg_code")


MIN_SPAN_DEG = 0.02  # ≈2 km: one site alone opens on its town, not at street level


def _box(b: Sequence[float]) -> tuple[float, float, float, float] | None:
    w, s, e, n = (float(v) for v in b)
    if not (all(np.isfinite((w, s, e, n))) and w <= e and s <= n):
        return None
    dx, dy = max(0.0, MIN_SPAN_DEG - (e - w)) / 2, max(0.0, MIN_SPAN_DEG - (n - s)) / 2
    return (w - dx, s - dy, e + dx, n + dy)


def opening_region(geo: Any, region: Any = None) -> tuple[float, float, float, float] | None:
    """The (w, s, e, n) the map opens on: the deployment's region, not the whole country.

    ``region`` is the shape of ``[geo] region`` (``RegionFilter.shape``: prefectures, area
    codes or a box, parsed once in ``lalert.config.parse_region``). Without it: the extent
    of the imported shelters (the registry is local even where national boundaries were
    imported for JMA's areas), then of the municipal boundaries, then of any area; None
    when there is no data.
    """
    if region is not None and not region.is_empty:
        return _box(region.bounds)
    shelters = getattr(geo, "shelters", None)
    if shelters is not None and len(shelters):
        xy = shapely.get_coordinates(shelters.geometry.values)
        w, s, e, n = JAPAN
        inside = xy[(xy[:, 0] >= w) & (xy[:, 0] <= e) & (xy[:, 1] >= s) & (xy[:, 1] <= n)]
        if len(inside):
            return _box((*inside.min(axis=0), *inside.max(axis=0)))
    areas = getattr(geo, "areas", None)
    if areas is not None and len(areas):
        muni = areas[areas["scheme"].isin(MUNICIPAL_SCHEMES)] if "scheme" in areas else areas
        return _box((muni if len(muni) else areas).total_bounds)
    return None
