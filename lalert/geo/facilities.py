"""One facility per place (pure): GSI's 指定緊急避難場所 and 指定避難所 lists, and 自治体標準
CSVs, name the same school two or three times. Rows are merged when they share the GSI
共通ID facility part, or lie within ``SAME_PLACE_M`` (geodesic) and share the normalised
address or the normalised name, in the same municipality. A facility keeps every role
(``emergency_site`` with its per-hazard flags, ``shelter``, ``welfare_shelter``), every
source id and every published name (``aliases``, for matching reports).
"""

from __future__ import annotations

import re
from collections import defaultdict

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Geod

from lalert.geo.names import address_key, name_keys

GEOD = Geod(ellps="WGS84")
SAME_PLACE_M = 60.0  # a school's ground and its gym are tens of metres apart in GSI data
ROLE_ORDER = ("emergency_site", "shelter", "welfare_shelter")
# GSI 共通ID: E + 5-digit JIS code + 5-digit facility serial + 3-digit entry
# (2xx 指定緊急避難場所, 11x 指定避難所, 12x 福祉避難所)
GSI_ID = re.compile(r"^[A-Z](\d{10})([12])(\d)\d$")


def gsi_facility_part(sid: str) -> str | None:
    m = GSI_ID.match(sid)
    return m.group(1) if m else None


def roles_of(kind: str, roles: str, sid: str) -> set[str]:
    out = {r for r in str(roles or "").split(",") if r in ROLE_ORDER}
    if not out:
        if kind == "both":
            out = {"emergency_site", "shelter"}
        elif kind in ROLE_ORDER:
            out = {kind}
    m = GSI_ID.match(sid)
    if m and m.group(2) == "1" and m.group(3) == "2":
        out.discard("shelter")
        out.add("welfare_shelter")
    return out or {"shelter"}


def _lead_rank(sid: str, kind: str, roles: set[str]) -> int:
    """Which entry names the facility: a 指定避難所 entry first (reports name those)."""
    m = GSI_ID.match(sid)
    if m:
        return 0 if m.group(2) == "1" else 2
    if kind in ("shelter", "welfare_shelter"):
        return 0
    return 1 if roles & {"shelter", "welfare_shelter"} else 2


class _Union:
    def __init__(self, n: int) -> None:
        self.p = list(range(n))

    def find(self, i: int) -> int:
        while self.p[i] != i:
            self.p[i] = self.p[self.p[i]]
            i = self.p[i]
        return i

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.p[max(ra, rb)] = min(ra, rb)


def _near(lon: np.ndarray, lat: np.ndarray, i: int, j: int) -> bool:
    _, _, d = GEOD.inv(lon[i], lat[i], lon[j], lat[j])
    return d <= SAME_PLACE_M


def merge_facilities(s: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rows (one per source entry) → one row per facility, with ``roles``, ``source_ids``
    and ``aliases`` tuples; ``id`` is the 指定避難所 entry's id when there is one (the
    list reports name), else the first entry's."""
    n = len(s)
    if n == 0:
        out = s.copy()
        for c in ("roles", "source_ids", "aliases"):
            out[c] = pd.Series(dtype=object)
        return out
    ids = [str(x) for x in s["id"]]
    muni = [str(x or "")[:5] for x in s["municipality_code"]]
    lon, lat = s.geometry.x.to_numpy(float), s.geometry.y.to_numpy(float)
    u = _Union(n)
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, sid in enumerate(ids):
        part = gsi_facility_part(sid)
        if part:
            groups[("gsi", part)].append(i)
    for members in groups.values():
        for j in members[1:]:
            u.join(members[0], j)
    near_groups: dict[tuple, list[int]] = defaultdict(list)
    addresses = s["address"].fillna("").astype(str).tolist()
    names = s["name"].fillna("").astype(str).tolist()
    for i in range(n):
        a = address_key(addresses[i])
        if a:
            near_groups[("addr", muni[i], a)].append(i)
        keys = name_keys(names[i])
        if keys:
            near_groups[("name", muni[i], keys[0])].append(i)
    for members in near_groups.values():
        if len(members) < 2:
            continue
        for x, i in enumerate(members):
            for j in members[x + 1:]:
                if u.find(i) != u.find(j) and _near(lon, lat, i, j):
                    u.join(i, j)
    roots = [u.find(i) for i in range(n)]
    kinds = s["kind"].fillna("").astype(str).tolist()
    role_col = s["roles"].fillna("").astype(str).tolist() if "roles" in s else [""] * n
    row_roles = [roles_of(kinds[i], role_col[i], ids[i]) for i in range(n)]
    hazards = list(s["hazards"])
    caps = pd.to_numeric(s["capacity"], errors="coerce").to_numpy(float)
    by_root: dict[int, list[int]] = defaultdict(list)
    for i, r in enumerate(roots):
        by_root[r].append(i)
    keep: list[int] = []
    rec: dict[str, list] = {"id": [], "name": [], "kind": [], "hazards": [], "capacity": [],
                            "roles": [], "source_ids": [], "aliases": []}
    for members in by_root.values():
        # the 指定避難所 entry names the facility (reports use it); else the first entry
        lead = min(members, key=lambda i: (_lead_rank(ids[i], kinds[i], row_roles[i]), i))
        keep.append(lead)
        roles = set().union(*(row_roles[i] for i in members))
        hz: list[str] = []
        for i in members:
            hz.extend(h for h in hazards[i] if h not in hz)
        cap = np.nanmax(caps[members]) if not np.all(np.isnan(caps[members])) else np.nan
        rec["id"].append(ids[lead])
        rec["name"].append(names[lead])
        rec["kind"].append("both" if "emergency_site" in roles and len(roles) > 1 else
                           next(r for r in ROLE_ORDER if r in roles))
        rec["hazards"].append(tuple(hz))
        rec["capacity"].append(cap)
        rec["roles"].append(tuple(r for r in ROLE_ORDER if r in roles))
        rec["source_ids"].append(tuple(dict.fromkeys(ids[i] for i in members)))
        rec["aliases"].append(tuple(dict.fromkeys(names[i] for i in members if names[i])))
    out = s.iloc[keep].copy()
    for c, v in rec.items():
        out[c] = pd.Series(v, index=out.index, dtype=object if c != "capacity" else float)
    return out.reset_index(drop=True)
