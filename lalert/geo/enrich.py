"""Enrichment: an ``Alert`` plus ``GeoData`` → ``EnrichedAlert`` (pure, no I/O).

Every area gets a polygon or the reason it has none; the *footprint* is the union of the
areas where something is in force (lifted hazards excluded; for evacuation messages the
issued areas; for CAP the message's own shapes). Shelters inside or near the footprint
are listed with their designations and whether one fits the alert's hazards — a site
designated for floods only is never offered as fitting a tsunami. Spatial work is
vectorised (STRtree queries, ``contains_xy``); distances are geodesic.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from lalert.geo.data import GeoData
from lalert.geo.distance import degree_margin, distances_to
from lalert.geo.hazards import NOT_IN_FORCE, alert_hazard_tags
from lalert.model import Alert, Area, EnrichedAlert, NearbyHotspot, NearbyShelter, Shelter


@dataclass(frozen=True)
class EnrichConfig:
    shelter_buffer_m: float = 1000.0  # sites this close outside the footprint are listed too
    max_shelters: int | None = None  # None: all (sorted fitting first, then nearest)
    include_unfit: bool = True  # False: only sites whose designation fits the hazard


def _norm(s: object) -> str:
    return unicodedata.normalize("NFKC", str(s or "")).replace(" ", "").replace("\u3000", "")


def _area_geometry(geo: GeoData, area: Area) -> tuple[BaseGeometry | None, Area]:
    """The area's shape and the area with ``geometry`` / ``unresolved`` filled in."""
    if area.geometry:
        try:
            return shape(area.geometry), area
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return None, dataclasses.replace(area, unresolved=f"unreadable geometry: {exc}")
    r = geo.gazetteer.resolve(area.scheme, area.code)
    if r.geometry is None:
        return None, dataclasses.replace(area, unresolved=r.reason)
    return r.geometry, dataclasses.replace(area, geometry=mapping(r.geometry), unresolved=r.reason)


def _in_force_keys(alert: Alert) -> set[tuple[str, str | None]] | None:
    """(scheme, code) of areas where something is in force; None means *all* areas."""
    if alert.info_type == "cancel":
        return set()
    keys: set[tuple[str, str | None]] = set()
    if alert.hazards:
        for h in alert.hazards:
            if h.state in NOT_IN_FORCE:
                continue
            if h.area_code is None:
                return None  # a hazard for the whole message (CAP info without geocode)
            keys.add((h.area_scheme, h.area_code))
        return keys
    if alert.evacuations:
        for e in alert.evacuations:
            if e.action != "lifted" and e.area_code:
                keys.add(("*", e.area_code))
        return keys
    return None


def footprint_of(alert: Alert, geo: GeoData) -> tuple[BaseGeometry | None, tuple[Area, ...]]:
    """(union of in-force shapes, the alert's areas with geometry filled in)."""
    resolved = [_area_geometry(geo, a) for a in alert.areas]
    keys = _in_force_keys(alert)
    parts: list[BaseGeometry] = []
    for geom, area in resolved:
        if geom is None:
            continue
        if keys is None or (area.scheme, area.code) in keys or ("*", area.code) in keys:
            parts.append(geom)
    if alert.evacuations and alert.info_type != "cancel":
        # an order given as a circle (Commons) counts even when its area has no code
        from lalert.parsers.common import circle_polygon

        for e in alert.evacuations:
            if e.action != "lifted" and e.lat is not None and e.lon is not None and e.radius_m:
                parts.append(shape(circle_polygon(e.lat, e.lon, e.radius_m)))
    parts = [p for p in parts if not p.is_empty and p.geom_type in ("Polygon", "MultiPolygon", "GeometryCollection")]
    if not parts:
        return None, tuple(a for _, a in resolved)
    fp = shapely.union_all(parts)
    return fp, tuple(a for _, a in resolved)


class _States:
    """Latest 避難所情報 per site: by code, else by name within the municipality."""

    def __init__(self, states: Mapping[str, Shelter] | None) -> None:
        self.by_code: dict[str, Shelter] = {}
        self.by_name: dict[tuple[str, str], Shelter] = {}
        self.by_bare_name: dict[str, list[Shelter]] = {}
        for key, s in (states or {}).items():
            for code in {s.code, key}:
                if code:
                    self.by_code[str(code)] = s
            muni = str(s.area_code or "")[:5]
            self.by_name[(muni, _norm(s.name))] = s
            self.by_bare_name.setdefault(_norm(s.name), []).append(s)

    def find(self, site_id: str, name: str, muni: str) -> Shelter | None:
        if site_id in self.by_code:
            return self.by_code[site_id]
        hit = self.by_name.get((muni[:5], _norm(name)))
        if hit is None:
            same = self.by_bare_name.get(_norm(name), [])
            hit = same[0] if len(same) == 1 and not same[0].area_code else None
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
    sub = s.iloc[np.sort(cand)]
    dist, inside = distances_to(footprint, sub["lon"].to_numpy(), sub["lat"].to_numpy())
    keep = inside | (dist <= config.shelter_buffer_m)
    sub, dist, inside = sub[keep], dist[keep], inside[keep]
    tags = set(hazard_tags)
    fits = (np.array([bool(tags & set(h)) for h in sub["hazards"]], dtype=bool) if tags
            else np.zeros(len(sub), dtype=bool))
    if tags and not config.include_unfit:
        sub, dist, inside, fits = sub[fits], dist[fits], inside[fits], fits[fits]
    order = np.lexsort((sub["name"].to_numpy().astype(str), dist, ~fits))
    if config.max_shelters is not None:
        order = order[: config.max_shelters]
    st = _States(states)
    cols = {c: sub[c].to_numpy() for c in ("id", "name", "lat", "lon", "hazards", "kind", "address",
                                           "municipality_code", "capacity")}
    out = []
    for i in order:
        sid, name, muni = str(cols["id"][i]), str(cols["name"][i]), str(cols["municipality_code"][i])
        found = st.find(sid, name, muni) if states else None
        cap = cols["capacity"][i]
        out.append(NearbyShelter(
            id=sid, name=name, lat=float(cols["lat"][i]), lon=float(cols["lon"][i]),
            hazards=tuple(cols["hazards"][i]), fits_hazard=bool(fits[i]) if tags else None,
            distance_m=round(float(dist[i]), 1), inside=bool(inside[i]),
            state=found.state if found else "unknown", kind=str(cols["kind"][i]) or None,
            address=str(cols["address"][i]) or None, municipality_code=muni or None,
            capacity=int(cap) if cap == cap and cap is not None else (found.capacity if found else None),
            head_count=found.head_count if found else None,
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


def enrich(
    alert: Alert,
    geo: GeoData,
    *,
    shelter_states: Mapping[str, Shelter] | None = None,
    config: EnrichConfig = EnrichConfig(),
) -> EnrichedAlert:
    """Fill in geometry, footprint, hazard tags, nearby shelters and hotspots."""
    fp, areas = footprint_of(alert, geo)
    tags = alert_hazard_tags(alert)
    if fp is None:
        return EnrichedAlert(alert=alert, areas=areas, hazard_tags=tags)
    if geo.simplify_deg > 0:
        fp_out = shapely.simplify(fp, geo.simplify_deg, preserve_topology=True)
    else:
        fp_out = fp
    states = shelter_states
    if states is None and alert.shelters:
        states = {s.code or s.name: s for s in alert.shelters}
    shelters = nearby_shelters(geo, fp, tags, config=config, states=states)
    hotspots = nearby_hotspots(geo, fp, {s.id for s in shelters})
    return EnrichedAlert(
        alert=alert, areas=areas, footprint=mapping(fp_out),
        bbox=tuple(round(v, 6) for v in fp.bounds), hazard_tags=tags,
        shelters=shelters, hotspots=hotspots,
    )
