"""Enrichment: an ``Alert`` plus ``GeoData`` → ``EnrichedAlert`` (pure, no I/O).

Every area gets a polygon or the reason it has none; the *footprint* is the union of the
areas where something is in force (``Area.status == "active"``: never a 解除 / なし area
or a telegram's scope; for CAP the message's own shapes). Shelters inside or near the footprint
are listed with their designations and whether one fits the alert's hazards — a site
designated for floods only is never offered as fitting a tsunami. Spatial work is
vectorised (STRtree queries, ``contains_xy``); distances are geodesic.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from lalert.geo.data import GeoData
from lalert.geo.distance import degree_margin, distances_to
from lalert.geo.hazards import alert_hazard_tags
from lalert.geo.match import geo_index, match_report
from lalert.model import (
    Alert,
    Area,
    EnrichedAlert,
    NearbyHotspot,
    NearbyShelter,
    Shelter,
    area_is_active,
)
from lalert.vocab import SHELTER_HAZARDS


@dataclass(frozen=True)
class EnrichConfig:
    shelter_buffer_m: float = 1000.0  # sites this close outside the footprint are listed too
    max_shelters: int | None = None  # None: all (sorted fitting first, then nearest)
    include_unfit: bool = True  # False: only sites whose designation fits the hazard


def _area_geometry(geo: GeoData, area: Area) -> tuple[BaseGeometry | None, Area, tuple[str, str] | None]:
    """The area's shape, the area with ``geometry`` / ``unresolved`` (and a missing
    ``name``) filled in, and its gazetteer key when the shape came from the gazetteer (so
    unions can be cached)."""
    if area.geometry:
        try:
            return shape(area.geometry), area, None
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return None, dataclasses.replace(area, unresolved=f"unreadable geometry: {exc}"), None
    gaz = geo.gazetteer
    r = gaz.resolve(area.scheme, area.code)
    if r.geometry is None:
        return None, dataclasses.replace(area, unresolved=r.reason), None
    # A place the message gives by code alone is named from the gazetteer, so that a
    # resident reads 阿蘇市, not 432148; a name the message gives is its own and kept.
    return (r.geometry, dataclasses.replace(area, geometry=gaz.geojson(area.scheme, area.code),
                                            unresolved=r.reason, name=area.name or r.name),
            (area.scheme, area.code))


def _is_areal(p: BaseGeometry) -> bool:
    return not p.is_empty and p.geom_type in ("Polygon", "MultiPolygon", "GeometryCollection")


def footprint_of(alert: Alert, geo: GeoData) -> tuple[BaseGeometry | None, tuple[Area, ...]]:
    """(union of in-force shapes, the alert's areas with geometry filled in)."""
    resolved = [_area_geometry(geo, a) for a in alert.areas]
    areas = tuple(a for _, a, _ in resolved)
    in_force = alert.info_type != "cancel"
    parts: list[BaseGeometry] = []
    gaz_keys: list[tuple[str, str] | None] = []
    for geom, area, key in resolved:
        # only areas under alert (Area.status): never a なし / 解除 town or the prefecture
        # a telegram names as its scope
        if geom is None or not in_force or not area_is_active(area):
            continue
        if _is_areal(geom):
            parts.append(geom)
            gaz_keys.append(key)
    circles = []
    if alert.evacuations and alert.info_type != "cancel":
        # an order given as a circle (Commons) counts even when its area has no code
        from lalert.parsers.common import circle_polygon

        for e in alert.evacuations:
            if e.action != "lifted" and e.lat is not None and e.lon is not None and e.radius_m:
                circles.append(shape(circle_polygon(e.lat, e.lon, e.radius_m)))
    circles = [p for p in circles if _is_areal(p)]
    if not parts and not circles:
        return None, areas
    if not circles and None not in gaz_keys:
        return geo.gazetteer.union(tuple(gaz_keys)), areas  # type: ignore[arg-type]
    return shapely.union_all(parts + circles), areas


def match_reports(alert: Alert, geo: GeoData) -> Alert:
    """``alert`` with each reported shelter's ``registry`` filled in (``lalert.geo.match``):
    the facility of the reporting municipality it names, and how it was found."""
    if not alert.shelters or geo.shelters.empty:
        return alert
    idx = geo_index(geo)
    links = getattr(geo, "shelter_links", None) or {}
    muni = next((a.code for a in alert.areas if a.code and a.scheme in ("lg_code", "n03")), None)
    out = []
    for s in alert.shelters:
        found = match_report(idx, name=s.name, muni=s.area_code or muni, code=s.code,
                             address=s.address, lat=s.lat, lon=s.lon, radius_m=s.radius_m,
                             manual=links)
        out.append(dataclasses.replace(s, registry=found.to_dict() if found else None))
    return dataclasses.replace(alert, shelters=tuple(out))


def _report_states(alert: Alert) -> dict[str, Shelter]:
    """Facility id → this alert's own report of it (joined by ``match_reports``). Other
    messages' reports are not copied in: outputs overlay the current state of every
    facility at render time (``geo.reports``)."""
    return {s.registry["id"]: s for s in alert.shelters if s.registry and s.registry.get("id")}


class _ShelterTable:
    """The shelter frame as plain Python lists and numpy arrays, built once per frame:
    reading cells through pandas per listed site cost more than all the spatial work."""

    def __init__(self, s) -> None:
        self.id = [str(x) for x in s["id"]]
        self.name = [str(x) for x in s["name"]]
        self.name_sort = np.array(self.name, dtype=str)
        self.lat_a = s["lat"].to_numpy(dtype=float)
        self.lon_a = s["lon"].to_numpy(dtype=float)
        self.lat = self.lat_a.tolist()
        self.lon = self.lon_a.tolist()
        self.hazards = [tuple(h) for h in s["hazards"]]
        bits = {h: 1 << i for i, h in enumerate(SHELTER_HAZARDS)}
        self.hazard_bits = np.array([sum(bits.get(x, 0) for x in set(h)) for h in self.hazards], dtype=np.int64)
        self.kind = [str(x) or None for x in s["kind"]]
        self.address = [str(x) or None for x in s["address"]]
        self.muni = [str(x) for x in s["municipality_code"]]
        self.capacity = [int(c) if c == c and c is not None else None for c in s["capacity"]]
        self.bits = bits


_TABLES: dict[int, _ShelterTable] = {}


def _table(frame) -> _ShelterTable:
    hit = _TABLES.get(id(frame))
    if hit is None:
        hit = _TABLES[id(frame)] = _ShelterTable(frame)
        weakref.finalize(frame, _TABLES.pop, id(frame), None)
    return hit


def nearby_shelters(
    geo: GeoData, footprint: BaseGeometry, hazard_tags: tuple[str, ...], *,
    config: EnrichConfig, states: Mapping[str, Shelter] | None = None,
) -> tuple[NearbyShelter, ...]:
    s = geo.shelters
    if s.empty or footprint is None or footprint.is_empty:
        return ()
    w, so, e, n = footprint.bounds
    dlon, dlat = degree_margin(config.shelter_buffer_m, max(abs(so), abs(n)))
    cand = s.sindex.query(shapely.box(w - dlon, so - dlat, e + dlon, n + dlat))
    if len(cand) == 0:
        return ()
    t = _table(s)
    idx = np.sort(cand)
    dist, inside = distances_to(footprint, t.lon_a[idx], t.lat_a[idx])
    keep = inside | (dist <= config.shelter_buffer_m)
    idx, dist, inside = idx[keep], dist[keep], inside[keep]
    tags = set(hazard_tags)
    if tags:
        mask = sum(t.bits[h] for h in tags if h in t.bits)
        fits = (t.hazard_bits[idx] & mask) != 0
    else:
        fits = np.zeros(len(idx), dtype=bool)
    if tags and not config.include_unfit:
        idx, dist, inside, fits = idx[fits], dist[fits], inside[fits], fits[fits]
    order = np.lexsort((t.name_sort[idx], dist, ~fits))
    if config.max_shelters is not None:
        order = order[: config.max_shelters]
    st = states or {}
    glob, dists, ins, fit = idx[order].tolist(), dist[order].tolist(), inside[order].tolist(), fits[order].tolist()
    out = []
    for i, d, inn, f in zip(glob, dists, ins, fit, strict=True):
        sid, name, muni, cap = t.id[i], t.name[i], t.muni[i], t.capacity[i]
        found = st.get(sid)
        out.append(NearbyShelter(
            id=sid, name=name, lat=t.lat[i], lon=t.lon[i],
            hazards=t.hazards[i], fits_hazard=f if tags else None,
            distance_m=round(d, 1), inside=inn,
            state=found.state if found else "unknown", kind=t.kind[i],
            address=t.address[i], municipality_code=muni or None,
            capacity=found.capacity if found and found.capacity is not None else cap,
            head_count=found.head_count if found else None,
            crowding=found.crowding if found else None,
        ))
    return tuple(out)


def nearby_hotspots(geo: GeoData, footprint: BaseGeometry, shelter_ids: set[str]) -> tuple[NearbyHotspot, ...]:
    h = geo.hotspots
    if h.empty or footprint is None or footprint.is_empty:
        return ()
    inside_idx = h.sindex.query(footprint, predicate="intersects")
    at_shelter = np.flatnonzero(h["shelter_id"].isin(shelter_ids).to_numpy()) if shelter_ids else np.zeros(0, int)
    idx = np.union1d(inside_idx, at_shelter).astype(int)
    if len(idx) == 0:
        return ()
    sub = h.iloc[idx]
    dist, _inside = distances_to(footprint, sub["lon"].to_numpy(), sub["lat"].to_numpy())
    return tuple(
        NearbyHotspot(id=str(r.id), name=str(r.name), lat=float(r.lat), lon=float(r.lon),
                      ssid=str(r.ssid) or None, provider=str(r.provider) or None,
                      address=str(r.address) or None, shelter_id=str(r.shelter_id) or None,
                      distance_m=round(float(d), 1))
        for r, d in zip(sub.itertuples(index=False), dist, strict=True)
    )


_FOOTPRINT_JSON: dict[int, tuple[float, dict]] = {}


def _footprint_geojson(fp: BaseGeometry, simplify_deg: float) -> dict:
    """Simplified GeoJSON of a footprint, once per footprint object (cached unions come
    back as the same object); shared between alerts, so read-only."""
    hit = _FOOTPRINT_JSON.get(id(fp))
    if hit is not None and hit[0] == simplify_deg:
        return hit[1]
    out = mapping(shapely.simplify(fp, simplify_deg, preserve_topology=True) if simplify_deg > 0 else fp)
    if id(fp) not in _FOOTPRINT_JSON:
        weakref.finalize(fp, _FOOTPRINT_JSON.pop, id(fp), None)
    _FOOTPRINT_JSON[id(fp)] = (simplify_deg, out)
    return out


def enrich(
    alert: Alert,
    geo: GeoData,
    *,
    config: EnrichConfig = EnrichConfig(),
) -> EnrichedAlert:
    """Fill in geometry, footprint, hazard tags, nearby shelters and hotspots."""
    alert = match_reports(alert, geo)
    fp, areas = footprint_of(alert, geo)
    tags = alert_hazard_tags(alert)
    if fp is None:
        return EnrichedAlert(alert=alert, areas=areas, hazard_tags=tags)
    fp_json = _footprint_geojson(fp, geo.simplify_deg)
    states = _report_states(alert)
    shelters = nearby_shelters(geo, fp, tags, config=config, states=states)
    hotspots = nearby_hotspots(geo, fp, {s.id for s in shelters})
    return EnrichedAlert(
        alert=alert, areas=areas, footprint=fp_json,
        bbox=tuple(round(v, 6) for v in fp.bounds), hazard_tags=tags,
        shelters=shelters, hotspots=hotspots,
    )
