"""Point queries used by signage, the map and push (pure): which areas contain a place,
the nearest fitting shelters, Wi-Fi nearby."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
import shapely

from lalert.geo.data import GeoData
from lalert.geo.distance import degree_margin, point_distances
from lalert.geo.reports import OPEN_STATES
from lalert.model import Area, NearbyHotspot, NearbyShelter
from lalert.vocab import lg_code


def areas_at(geo: GeoData, *, lat: float, lon: float) -> list[Area]:
    """Every area containing the point, in every scheme: the polygons hit directly plus
    what the code rules derive (N03 ward → its 政令市 and both lg_codes; JMA 市町村等 →
    its まとめ地域, 一次細分区域 and 府県予報区 from the code table)."""
    a = geo.areas
    if a.empty:
        return []
    pt = shapely.Point(lon, lat)
    hits = a.iloc[np.sort(a.sindex.query(pt, predicate="intersects"))]
    out: dict[tuple[str, str], Area] = {}

    def add(scheme: str, code: str, name: str | None) -> None:
        out.setdefault((scheme, code), Area(code=code, scheme=scheme, name=name or None))

    codes = geo.jma_codes
    city_rows = codes[codes["level"] == "city"].set_index("code") if len(codes) else None
    names = dict(zip(codes["code"], codes["name"], strict=True)) if len(codes) else {}
    gaz = geo.gazetteer
    for r in hits.itertuples(index=False):
        add(r.scheme, r.code, r.name)
        if r.scheme == "n03":
            add("lg_code", lg_code(r.code), r.name)
            if r.parent:
                add("n03", r.parent, r.parent_name)
                add("lg_code", lg_code(r.parent), r.parent_name)
                add("jma.city", r.code + "00", r.name)  # 地震 市町村等: 政令市 wards
    jma = [k[1] for k in out if k[0] == "jma.city"]
    if not jma:  # no JMA polygons loaded: the municipality's whole-area code
        for s, c in list(out):
            if s == "n03" and city_rows is not None and c + "00" in city_rows.index:
                add("jma.city", c + "00", names.get(c + "00"))
                jma.append(c + "00")
    for c in jma:
        if city_rows is not None and c in city_rows.index:
            row = city_rows.loc[c]
            for col in ("matome", "first", "pref"):
                if row[col]:
                    add("jma.forecast_area", row[col], names.get(row[col]) or gaz.name("jma.forecast_area", row[col]))
    return list(out.values())


def _candidates(frame, lat: float, lon: float, max_m: float) -> np.ndarray:
    dlon, dlat = degree_margin(max_m, abs(lat))
    return np.sort(frame.sindex.query(shapely.box(lon - dlon, lat - dlat, lon + dlon, lat + dlat)))


def nearest_shelters(
    geo: GeoData, *, lat: float, lon: float, hazard: str | None = None, limit: int = 5,
    max_m: float = 5000.0, states: Mapping[str, str] | None = None, open_only: bool = False,
    hazards: Collection[str] = (),
) -> list[NearbyShelter]:
    """The nearest designated sites (geodesic), fit for ``hazard`` and every one of
    ``hazards`` when given (a site is designated per hazard); ``states`` maps site id →
    state (``open`` …) from the latest 避難所情報."""
    s = geo.shelters
    if s.empty:
        return []
    sub = s.iloc[_candidates(s, lat, lon, max_m)]
    need = set(hazards) | ({hazard} if hazard else set())
    if need:
        sub = sub[sub["hazards"].map(need.issubset).to_numpy(dtype=bool)] if len(sub) else sub
    if len(sub) == 0:
        return []
    dist, bearing = point_distances(lon, lat, sub["lon"].to_numpy(), sub["lat"].to_numpy())
    state = np.array([(states or {}).get(str(i), "unknown") for i in sub["id"]], dtype=object)
    keep = dist <= max_m
    if open_only:
        keep &= np.isin(state, list(OPEN_STATES))
    idx = np.flatnonzero(keep)
    idx = idx[np.argsort(dist[idx], kind="stable")][:limit]
    out = []
    for i in idx:
        r = sub.iloc[i]
        cap = r["capacity"]
        out.append(NearbyShelter(
            id=str(r["id"]), name=str(r["name"]), lat=float(r["lat"]), lon=float(r["lon"]),
            hazards=tuple(r["hazards"]), fits_hazard=True if need else None,
            distance_m=round(float(dist[i]), 1), inside=False, state=str(state[i]),
            kind=str(r["kind"]) or None, address=str(r["address"]) or None,
            municipality_code=str(r["municipality_code"]) or None,
            capacity=int(cap) if cap == cap and cap is not None else None,
            bearing_deg=round(float(bearing[i]), 1),
        ))
    return out


def hotspots_near(geo: GeoData, *, lat: float, lon: float, max_m: float = 500.0) -> list[NearbyHotspot]:
    """Wi-Fi access points within ``max_m`` (geodesic), nearest first."""
    h = geo.hotspots
    if h.empty:
        return []
    sub = h.iloc[_candidates(h, lat, lon, max_m)]
    if len(sub) == 0:
        return []
    dist, _ = point_distances(lon, lat, sub["lon"].to_numpy(), sub["lat"].to_numpy())
    idx = np.flatnonzero(dist <= max_m)
    idx = idx[np.argsort(dist[idx], kind="stable")]
    return [
        NearbyHotspot(id=str(r["id"]), name=str(r["name"]), lat=float(r["lat"]), lon=float(r["lon"]),
                      ssid=str(r["ssid"]) or None, provider=str(r["provider"]) or None,
                      address=str(r["address"]) or None, shelter_id=str(r["shelter_id"]) or None,
                      distance_m=round(float(dist[i]), 1))
        for i in idx for r in [sub.iloc[i]]
    ]
