"""Which registry facility a reported shelter is (pure: no I/O).

A 避難所情報 names its shelters the way the municipality writes them. Each report is tried,
in order, by: its code (a GSI 共通ID or a facility id); an operator's link made at the desk
(``manual``); its normalised name (``lalert.geo.names``); its normalised address; its
location (the report's circle, bounded). Only facilities of the reporting municipality
count. Ambiguity loses: when two facilities score too close, the report stays unmatched
rather than being sent to the wrong school — 第一中学校 and 第五中学校 never match each other.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from pyproj import Geod
from rapidfuzz import fuzz

from lalert.geo.names import address_key, building_stem, digits_of, name_keys

GEOD = Geod(ellps="WGS84")
NAME_MIN_SCORE = 88.0  # below this a name is no match
NAME_MARGIN = 6.0  # the best facility must beat the next by this much
NAME_MAX_M = 3000.0  # a name match whose report point is farther than this is refused
LOCATION_MIN_M = 50.0  # a circle of radius 0 (a point) still covers this much
LOCATION_MAX_M = 150.0  # a wide circle never reaches beyond this


@dataclass(frozen=True)
class RegistryMatch:
    id: str
    name: str
    match: str  # code | name | address | location | manual

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "match": self.match}


def muni_key(code: str | None) -> str:
    """The 5-digit JIS part of a municipality code ('' when unknown)."""
    c = str(code or "").strip()
    return c[:5] if len(c) >= 5 and c[:5].isdigit() else ""


def link_key(muni: str | None, name: str) -> tuple[str, str]:
    """Key of an operator's link: municipality + the name's first normalised form."""
    keys = name_keys(name)
    return (muni_key(muni), keys[0] if keys else name)


def _same_muni(report: str, facility: str) -> bool:
    if not report or not facility:
        return False
    if report == facility:
        return True
    # a 政令市 (43100) reports for its wards (43101–43105), and a ward for the city
    return report[:4] == facility[:4] and (report.endswith("0") or facility.endswith("0"))


class FacilityIndex:
    """Facilities by municipality with their name keys and address keys, built once per
    shelter frame (``index_for``)."""

    def __init__(self, shelters, place_names: Mapping[str, tuple[str, ...]] | None = None) -> None:
        self.place_names = dict(place_names or {})
        self.ids = [str(x) for x in shelters["id"]]
        self.names = [str(x) for x in shelters["name"]]
        self.muni = [muni_key(x) for x in shelters["municipality_code"]]
        self.lat = shelters["lat"].to_numpy(float) if len(shelters) else np.zeros(0)
        self.lon = shelters["lon"].to_numpy(float) if len(shelters) else np.zeros(0)
        aliases = shelters["aliases"] if "aliases" in shelters else [(n,) for n in self.names]
        source_ids = shelters["source_ids"] if "source_ids" in shelters else [(i,) for i in self.ids]
        self.by_code: dict[str, int] = {}
        for i, (sid, more) in enumerate(zip(self.ids, source_ids, strict=True)):
            for c in (sid, *more):
                self.by_code.setdefault(str(c), i)
        self.by_id = {sid: i for i, sid in enumerate(self.ids)}
        self.in_muni: dict[str, list[int]] = defaultdict(list)
        for i, m in enumerate(self.muni):
            self.in_muni[m].append(i)
        self.keys: list[tuple[str, ...]] = []
        for i, names in enumerate(aliases):
            places = self.place_names.get(self.muni[i], ())
            ks: list[str] = []
            for n in (names or (self.names[i],)):
                ks.extend(name_keys(n, places))
            self.keys.append(tuple(dict.fromkeys(ks)))
        addresses = shelters["address"].fillna("").astype(str).tolist() if len(shelters) else []
        self.addr = [address_key(a, self.place_names.get(self.muni[i], ())) for i, a in enumerate(addresses)]

    def candidates(self, muni: str) -> list[int]:
        if not muni:
            return []
        out = list(self.in_muni.get(muni, ()))
        if muni.endswith("0") or not out:
            out += [i for m, idx in self.in_muni.items() if m != muni and _same_muni(muni, m) for i in idx]
        return out

    def found(self, i: int, how: str) -> RegistryMatch:
        return RegistryMatch(self.ids[i], self.names[i], how)


_INDEXES: dict[int, FacilityIndex] = {}


def index_for(shelters, place_names: Mapping[str, tuple[str, ...]] | None = None) -> FacilityIndex:
    """The index of a shelter frame, cached for the frame's lifetime."""
    hit = _INDEXES.get(id(shelters))
    if hit is None:
        hit = _INDEXES[id(shelters)] = FacilityIndex(shelters, place_names)
        weakref.finalize(shelters, _INDEXES.pop, id(shelters), None)
    return hit


def _pair_score(a: str, b: str) -> float:
    if digits_of(a) != digits_of(b):
        return 0.0  # 第1 vs 第5, 1号館 vs 2号館: different places whatever else agrees
    if a == b:
        return 100.0
    sa, sb = building_stem(a), building_stem(b)
    if (sa and sa == b) or (sb and sb == a) or (sa and sa == sb):
        return 97.0
    short, long_ = sorted((a, b), key=len)
    if len(short) >= 4 and short in long_:
        return 90.0  # a naming-rights or shortened name inside the published one
    return float(fuzz.ratio(a, b))


def name_score(report_keys: tuple[str, ...], facility_keys: tuple[str, ...]) -> float:
    """How surely two names are one facility, 0–100 (the best pair of their forms)."""
    best = 0.0
    for a in report_keys:
        for b in facility_keys:
            best = max(best, _pair_score(a, b))
            if best >= 100.0:
                return best
    return best


def _distances(idx: FacilityIndex, cand: list[int], lat: float, lon: float) -> np.ndarray:
    n = len(cand)
    _, _, d = GEOD.inv(np.full(n, lon), np.full(n, lat), idx.lon[cand], idx.lat[cand])
    return np.asarray(d, dtype=float)


def match_report(
    idx: FacilityIndex, *, name: str, muni: str | None, code: str | None = None,
    address: str | None = None, lat: float | None = None, lon: float | None = None,
    radius_m: float | None = None, manual: Mapping[tuple[str, str], str] | None = None,
) -> RegistryMatch | None:
    """The facility a report names, and how it was found; None when none or ambiguous."""
    m = muni_key(muni)
    if code and str(code) in idx.by_code:
        return idx.found(idx.by_code[str(code)], "code")
    if manual:
        fid = manual.get(link_key(m, name))
        if fid is not None and fid in idx.by_id:
            return idx.found(idx.by_id[fid], "manual")
    cand = idx.candidates(m)
    if not cand:
        return None
    dist = _distances(idx, cand, lat, lon) if lat is not None and lon is not None else None
    keys = name_keys(name, idx.place_names.get(m, ()))
    if keys:
        scores = np.array([name_score(keys, idx.keys[i]) for i in cand])
        if dist is not None:
            scores = np.where(dist > NAME_MAX_M, 0.0, scores)
        order = np.argsort(-scores, kind="stable")
        best = scores[order[0]]
        second = scores[order[1]] if len(order) > 1 else 0.0
        if best >= NAME_MIN_SCORE and best - second >= NAME_MARGIN:
            return idx.found(cand[order[0]], "name")
        if best >= NAME_MIN_SCORE:
            return None  # two facilities fit the name: a person decides, not a guess
    ak = address_key(address, idx.place_names.get(m, ())) if address else ""
    if ak:
        same = [i for i in cand if idx.addr[i] == ak]
        if len(same) == 1:
            return idx.found(same[0], "address")
        if len(same) > 1:
            return None
    if dist is not None:
        bound = min(max(radius_m or 0.0, LOCATION_MIN_M), LOCATION_MAX_M)
        near = np.flatnonzero(dist <= bound)
        if len(near) == 1:
            return idx.found(cand[near[0]], "location")
    return None


def place_names(areas) -> dict[str, tuple[str, ...]]:
    """Municipality (and 政令市) names by 5-digit code, from the N03 areas: the prefixes a
    facility name or address may carry (人吉市保健センター, 熊本市中央区…)."""
    out: dict[str, tuple[str, ...]] = {}
    if areas is None or not len(areas):
        return out
    n03 = areas[areas["scheme"] == "n03"]
    for code, name, parent in zip(n03["code"], n03["name"], n03["parent_name"], strict=True):
        names = [str(name)] if name else []
        if parent and str(name).startswith(str(parent)):
            names.append(str(parent))
        out[str(code)[:5]] = tuple(names)
    return out


def geo_index(geo) -> FacilityIndex:
    """The facility index of a ``GeoData`` (cached with its shelter frame)."""
    return index_for(geo.shelters, place_names(geo.areas))
