"""``GeoData``: everything geo work needs, in memory. Pure once built.

The store (``lalert.geo.store``) imports and loads (``load_geodata``); the gazetteer,
enrichment and queries work on this object. Imports point one way: the store builds on
this module, this module builds the gazetteer, and neither imports back. ``demo_geodata()`` builds one from the hand-made files in
``lalert/demo/geo`` and ``lalert/demo/shelters`` so the daemon runs on a fresh machine.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

from lalert.geo.facilities import merge_facilities
from lalert.geo.gazetteer import Gazetteer

WGS84 = "EPSG:4326"
GEOD = Geod(ellps="WGS84")
HOTSPOT_AT_SHELTER_M = 100.0  # a hotspot this close to a listed site serves that site

AREA_COLUMNS = ["scheme", "code", "name", "parent", "parent_name"]
SHELTER_COLUMNS = ["id", "name", "kind", "hazards", "municipality_code", "address", "capacity", "lat", "lon",
                   "roles"]
HOTSPOT_COLUMNS = ["id", "name", "ssid", "provider", "address", "municipality_code", "lat", "lon", "shelter_id"]
CODE_COLUMNS = ["code", "name", "level", "matome", "first", "pref"]



@dataclass
class GeoData:
    """Areas (any scheme, EPSG:4326), designated shelters, hotspots and the JMA code table.

    ``shelters`` has one row per facility (``lalert.geo.facilities``): ``hazards`` holds
    tuples of ``lalert.vocab.SHELTER_HAZARDS`` names, ``roles`` / ``source_ids`` /
    ``aliases`` tuples.
    """

    areas: gpd.GeoDataFrame
    shelters: gpd.GeoDataFrame
    hotspots: gpd.GeoDataFrame
    jma_codes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CODE_COLUMNS))
    simplify_deg: float = 0.0005  # output simplification (≈50 m); 0 keeps full detail
    # the desk's "this report is facility X" links: (municipality, name key) → facility id
    shelter_links: dict[tuple[str, str], str] = field(default_factory=dict)
    _gaz: Any = field(default=None, repr=False, compare=False)

    @property
    def gazetteer(self) -> Gazetteer:
        if self._gaz is None:
            self._gaz = Gazetteer(self.areas, self.jma_codes, simplify_deg=self.simplify_deg)
        return self._gaz

    def area(self, scheme: str, code: str) -> BaseGeometry | None:
        """The polygon of ``code`` in ``scheme`` (see ``Gazetteer.resolve`` for the rules)."""
        return self.gazetteer.resolve(scheme, code).geometry


def _empty_gdf(columns: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in columns}, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)


def _concat(frames: Iterable[gpd.GeoDataFrame | None], columns: list[str]) -> gpd.GeoDataFrame:
    fs = [f for f in frames if f is not None and len(f)]
    if not fs:
        return _empty_gdf(columns)
    out = pd.concat([f.to_crs(WGS84) for f in fs], ignore_index=True)
    for c in columns:
        if c not in out.columns:
            out[c] = ""
    return gpd.GeoDataFrame(out[[*columns, "geometry"]], geometry="geometry", crs=WGS84)


def _norm(s: object) -> str:
    return unicodedata.normalize("NFKC", str(s or "")).replace(" ", "").replace("\u3000", "")


def build_geodata(
    areas: Iterable[gpd.GeoDataFrame | None] = (),
    shelters: Iterable[gpd.GeoDataFrame | None] = (),
    hotspots: Iterable[gpd.GeoDataFrame | None] = (),
    codes: Iterable[pd.DataFrame | None] = (),
) -> GeoData:
    """Merge frames (later ones win on the same key) into a ``GeoData``."""
    a = _concat(areas, AREA_COLUMNS)
    a[AREA_COLUMNS] = a[AREA_COLUMNS].fillna("").astype(str)
    a = a.drop_duplicates(["scheme", "code"], keep="last").reset_index(drop=True)

    s = _concat(shelters, SHELTER_COLUMNS)
    s = s.drop_duplicates("id", keep="last").reset_index(drop=True)
    s["hazards"] = [tuple(h for h in str(x).split(",") if h) if not isinstance(x, tuple) else x
                    for x in s["hazards"].fillna("")]
    s = _share_designations(s)
    s["capacity"] = pd.to_numeric(s["capacity"], errors="coerce")
    s = gpd.GeoDataFrame(merge_facilities(s), geometry="geometry", crs=WGS84)
    s["lat"], s["lon"] = s.geometry.y, s.geometry.x

    h = _concat(hotspots, HOTSPOT_COLUMNS)
    h = h.drop_duplicates("id", keep="last").reset_index(drop=True)
    h["lat"], h["lon"] = h.geometry.y, h.geometry.x
    h["shelter_id"] = _nearest_shelter_ids(h, s)

    cs = [c for c in codes if c is not None and len(c)]
    c = pd.concat(cs, ignore_index=True) if cs else pd.DataFrame(columns=CODE_COLUMNS)
    c = c[CODE_COLUMNS].fillna("").astype(str)
    # a full table row (with its parents) beats a names-only row for the same code
    c = c.assign(_full=c["matome"] != "").sort_values("_full", kind="stable")
    c = c.drop_duplicates(["code", "level"], keep="last").drop(columns="_full").reset_index(drop=True)
    return GeoData(areas=a, shelters=s, hotspots=h, jma_codes=c)


def _share_designations(s: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """GSI publishes 指定避難所 without hazard columns; when the record says it shares its
    address with a 指定緊急避難場所 (住所同一), it inherits that site's designations —
    matched on municipality + normalised address, vectorised with a merge."""
    if s.empty:
        return s
    key = s["municipality_code"].astype(str) + "|" + s["address"].map(_norm)
    donors = pd.DataFrame({"key": key, "hz": s["hazards"]})[s["hazards"].map(len) > 0]
    donors = donors.drop_duplicates("key")
    need = (s["kind"] == "both") & (s["hazards"].map(len) == 0)
    if need.any() and len(donors):
        got = pd.DataFrame({"key": key[need]}).merge(donors, on="key", how="left")["hz"]
        got.index = s.index[need]
        s.loc[need, "hazards"] = got.where(got.notna(), pd.Series([()] * len(got), index=got.index))
    return s


def _nearest_shelter_ids(h: gpd.GeoDataFrame, s: gpd.GeoDataFrame) -> list[str]:
    """For each hotspot, the id of a listed site within ``HOTSPOT_AT_SHELTER_M`` (geodesic)."""
    if h.empty or s.empty:
        return [""] * len(h)
    tree = shapely.STRtree(s.geometry.values)
    hi, si = tree.query_nearest(h.geometry.values, all_matches=False)
    _, _, dist = GEOD.inv(h["lon"].to_numpy()[hi], h["lat"].to_numpy()[hi],
                          s["lon"].to_numpy()[si], s["lat"].to_numpy()[si])
    out = np.full(len(h), "", dtype=object)
    near = dist <= HOTSPOT_AT_SHELTER_M
    out[hi[near]] = s["id"].to_numpy()[si[near]]
    return list(out)


def demo_geodata() -> GeoData:
    """The hand-made demo: 熊本市 outline and wards, demo shelters and hotspots."""
    from lalert import resources
    from lalert.geo.readers import read_source  # pyogrio & co. only when files are read

    geo, shelters = resources.demo("geo"), resources.demo("shelters")
    files = sorted(geo.glob("*.*json")) + sorted(geo.glob("*.csv")) + sorted(shelters.glob("*.csv"))
    loaded = [x for f in files for x in read_source(f, progress=False)]
    return build_geodata(
        areas=[x.areas for x in loaded], shelters=[x.shelters for x in loaded],
        hotspots=[x.hotspots for x in loaded], codes=[x.codes for x in loaded],
    )
