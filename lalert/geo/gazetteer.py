"""Gazetteer: ``(scheme, code) → polygon`` for every code scheme with a polygon source.

Rules (each returns the exact shape or nothing — a guessed shape would put a warning on
the wrong town):

- ``jma.city`` (7 digits): JMA's own polygon; an older whole-municipality code split
  since (奈良市 2920100 = 2920101 ∪ 2920102) is the union of its parts; a code renamed
  since (``JMA_CITY_SUCCESSORS``) follows its successor; ``PPCCC00`` is N03 ``PPCCC``
  (so 地震 ward codes 4310100… are the N03 wards). A sub-municipal code with no polygon
  (土砂災害 横浜市北部 1410011) falls back to its municipality and says so in
  ``reason`` (``approximate: …``) — the only case that returns a larger shape.
- ``jma.forecast_area`` (6 digits): JMA's polygon, else the union of its member 市町村等
  from the code table — only when *every* member resolves; ``PPX000`` split by the table
  (北海道 017000 渡島・檜山地方) is the union of its ``PPX…`` parts.
- ``lg_code`` (6 digits, check digit verified) → N03 of its first five digits.
- ``n03`` (5 digits): the polygon; a 政令市 is the union of its wards; ``PP000`` the
  prefecture (union of its municipalities).
- other schemes (earthquake regions, tsunami forecast regions, …): no polygon source,
  ``reason`` says so.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from lalert.geo.codes import JMA_CITY_SUCCESSORS, valid_lg_code


@dataclass(frozen=True)
class Resolved:
    geometry: BaseGeometry | None
    name: str | None = None
    reason: str | None = None  # why there is no geometry, or "approximate: …"


POLYGON_SCHEMES = ("jma.city", "jma.forecast_area", "lg_code", "n03")
UNION_CACHE_SIZE = 256  # area sets whose union is kept (a desk sees the same sets again and again)


class Gazetteer:
    """Resolves codes against one ``GeoData``'s areas and JMA code table; results are
    cached per (scheme, code). Takes the two frames, not the ``GeoData``, so that
    ``lalert.geo.data`` builds it without the two modules importing each other."""

    def __init__(self, areas: gpd.GeoDataFrame, jma_codes: pd.DataFrame, *,
                 simplify_deg: float = 0.0005) -> None:
        self.simplify_deg = simplify_deg
        a = areas
        self._geoms = a.geometry.to_numpy()
        self._names = a["name"].to_numpy()
        self._index: dict[tuple[str, str], int] = dict(zip(zip(a["scheme"], a["code"], strict=True), range(len(a)), strict=True))
        self._children: dict[str, list[int]] = defaultdict(list)  # n03 政令市 → wards
        for i in a.index[(a["scheme"] == "n03") & (a["parent"] != "")]:
            self._children[a.at[i, "parent"]].append(i)
        self._parent_names = dict(zip(a["parent"], a["parent_name"], strict=True))
        self._jma_prefix: dict[str, list[str]] = defaultdict(list)  # PPCCC → jma.city codes
        for code in a.loc[a["scheme"] == "jma.city", "code"]:
            self._jma_prefix[code[:5]].append(code)
        c = jma_codes
        city = c[c["level"] == "city"]
        self._members: dict[str, list[str]] = defaultdict(list)
        for col in ("matome", "first", "pref"):
            for parent, grp in city.groupby(col):
                if parent:
                    self._members[parent].extend(grp["code"])
        self._code_names = dict(zip(c["code"], c["name"], strict=True))
        self._cache: dict[tuple[str, str, bool], Resolved] = {}
        self._geojson: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._unions: OrderedDict[tuple[tuple[str, str], ...], BaseGeometry] = OrderedDict()

    # --- public ---------------------------------------------------------------------

    def resolve(self, scheme: str, code: str | None, *, simplify: bool = True) -> Resolved:
        if not code:
            return Resolved(None, None, "no code")
        key = (scheme, code, simplify)
        hit = self._cache.get(key)
        if hit is None:
            raw = self._cache.get((scheme, code, False)) or self._resolve(scheme, code)
            self._cache[(scheme, code, False)] = raw
            hit = raw
            if simplify and raw.geometry is not None and self.simplify_deg > 0:
                hit = Resolved(shapely.simplify(raw.geometry, self.simplify_deg, preserve_topology=True),
                               raw.name, raw.reason)
            self._cache[key] = hit
        return hit

    def geojson(self, scheme: str, code: str) -> dict[str, Any] | None:
        """GeoJSON of the simplified shape, built once per code (treat it as read-only:
        every alert naming the code shares it)."""
        key = (scheme, code)
        if key not in self._geojson:
            g = self.resolve(scheme, code).geometry
            self._geojson[key] = mapping(g) if g is not None else None
        return self._geojson[key]

    def union(self, keys: tuple[tuple[str, str], ...]) -> BaseGeometry:
        """Union of the simplified shapes of ``keys`` (in that order), cached per area set:
        a prefecture's warnings name the same areas message after message, and the union
        is the costliest step of enrichment. The same object comes back on a hit, so
        per-shape caches (``lalert.geo.distance``) are reused too."""
        hit = self._unions.get(keys)
        if hit is not None:
            self._unions.move_to_end(keys)
            return hit
        hit = shapely.union_all([self.resolve(s, c).geometry for s, c in keys])
        self._unions[keys] = hit
        if len(self._unions) > UNION_CACHE_SIZE:
            self._unions.popitem(last=False)
        return hit

    def name(self, scheme: str, code: str) -> str | None:
        i = self._index.get((scheme, code))
        if i is not None:
            return str(self._names[i])
        if scheme in ("jma.city", "jma.forecast_area"):
            return self._code_names.get(code)
        if scheme == "n03":
            return self._parent_names.get(code)
        return None

    # --- rules ----------------------------------------------------------------------

    def _direct(self, scheme: str, code: str) -> Resolved | None:
        i = self._index.get((scheme, code))
        if i is None:
            return None
        return Resolved(self._geoms[i], str(self._names[i]))

    def _union(self, parts: list[Resolved], name: str | None) -> Resolved:
        geom = shapely.union_all([p.geometry for p in parts])
        return Resolved(geom, name)

    def _resolve(self, scheme: str, code: str) -> Resolved:
        if scheme == "jma.city":
            return self._jma_city(code)
        if scheme == "jma.forecast_area":
            return self._forecast_area(code)
        if scheme == "lg_code":
            if not valid_lg_code(code):
                return Resolved(None, None, f"invalid 全国地方公共団体コード {code!r} (check digit)")
            r = self._n03(code[:5])
            return r if r.geometry is not None else Resolved(None, None, f"lg_code {code}: {r.reason}")
        if scheme == "n03":
            return self._n03(code)
        return Resolved(None, None, f"no polygon source for scheme {scheme}")

    def _n03(self, code: str) -> Resolved:
        if len(code) != 5 or not code.isdigit():
            return Resolved(None, None, f"not a 5-digit N03 code: {code!r}")
        if (hit := self._direct("n03", code)) is not None:
            return hit
        if kids := self._children.get(code):
            return Resolved(shapely.union_all(self._geoms[kids]), self._parent_names.get(code))
        if code.endswith("000"):  # prefecture
            rows = [i for (s, c), i in self._index.items() if s == "n03" and c[:2] == code[:2]]
            if rows:
                return Resolved(shapely.union_all(self._geoms[rows]), None)
        return Resolved(None, None, f"N03 code {code} not in the loaded boundaries")

    def _jma_city(self, code: str, *, depth: int = 0) -> Resolved:
        if len(code) != 7 or not code.isdigit():
            return Resolved(None, None, f"not a 7-digit JMA 市町村等 code: {code!r}")
        if (hit := self._direct("jma.city", code)) is not None:
            return hit
        if code in JMA_CITY_SUCCESSORS and depth < 3:
            r = self._jma_city(JMA_CITY_SUCCESSORS[code], depth=depth + 1)
            if r.geometry is not None:
                return r
        if code.endswith("00"):
            parts = [c for c in self._jma_prefix.get(code[:5], []) if c != code]
            if parts:
                rs = [self._direct("jma.city", c) for c in parts]
                return self._union([r for r in rs if r is not None], self.name("jma.city", code))
            r = self._n03(code[:5])
            if r.geometry is not None:
                return r
            return Resolved(None, None, f"JMA 市町村等 {code}: no JMA polygon and {r.reason}")
        parent = code[:5] + "00"
        r = self._jma_city(parent, depth=depth + 1) if depth < 3 else Resolved(None)
        if r.geometry is not None:
            return Resolved(r.geometry, r.name,
                            f"approximate: no polygon for sub-area {code}; shown as its municipality {parent}")
        return Resolved(None, None, f"unknown JMA 市町村等 code {code}")

    def _forecast_area(self, code: str) -> Resolved:
        if len(code) != 6 or not code.isdigit():
            return Resolved(None, None, f"not a 6-digit JMA 地域 code: {code!r}")
        if (hit := self._direct("jma.forecast_area", code)) is not None:
            return hit
        members = sorted(set(self._members.get(code, [])))
        if not members and code.endswith("000"):
            # a 府県予報区 the code table splits (北海道 017000 渡島・檜山地方 = 017010 ∪ 017020)
            members = sorted({m for p, ms in self._members.items() if p[:3] == code[:3] for m in ms})
        if not members:
            return Resolved(None, None, f"unknown JMA 地域 code {code} (import the JMA code table)")
        parts = [self._jma_city(m) for m in members]
        missing = [m for m, p in zip(members, parts, strict=True) if p.geometry is None]
        if missing:
            return Resolved(None, self._code_names.get(code),
                            f"members without polygons: {', '.join(missing[:5])}" + (" …" if len(missing) > 5 else ""))
        return self._union(parts, self._code_names.get(code))
