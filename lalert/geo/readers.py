"""Read one official open-data file into frames, recognising it by its content.

File names lie (``mergeFromCity_2.csv``, ``13.json``, ``data.csv``), columns and
properties do not: every reader is chosen from the structure — JSON ``type``, feature
properties, CSV header, file magic — never from the name. This is the edge that touches
files; what it returns is plain (Geo)DataFrames for ``lalert.geo.store``.

Coordinates: GSI and 自治体標準オープンデータセット publish JGD2011 lon/lat (EPSG:6668);
N03 GeoJSON/TopoJSON are declared EPSG:4326 (JGD2011 and WGS 84 agree within a metre,
but the datum is declared and transformed through pyproj, so a Tokyo-datum shapefile
with its .prj is shifted correctly instead of landing ~400 m off).
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from tqdm import tqdm

from lalert.geo.codes import designated_city_code, is_designated_ward, normalise_code, valid_lg_code
from lalert.vocab import SHELTER_HAZARDS, lg_code

WGS84 = "EPSG:4326"
JGD2011 = "EPSG:6668"
PROGRESS_ROWS = 5000  # show a tqdm bar for files with more rows than this


class Unrecognised(ValueError):
    """The file's content matches no source lalert imports."""


@dataclass
class BadRow:
    line: int | str
    reason: str


@dataclass
class Loaded:
    """What one file contributed. ``scope`` + ``kind`` name the *source*: a later file with
    the same kind and scope replaces this one's rows."""

    kind: str
    scope: str
    label: str
    areas: gpd.GeoDataFrame | None = None
    shelters: gpd.GeoDataFrame | None = None
    hotspots: gpd.GeoDataFrame | None = None
    codes: pd.DataFrame | None = None
    bad: list[BadRow] = field(default_factory=list)
    note: str = ""

    @property
    def rows(self) -> int:
        return sum(len(f) for f in (self.areas, self.shelters, self.hotspots, self.codes) if f is not None)


# --- column vocabularies ---------------------------------------------------------------
# Japanese designation column → English (SHELTER_HAZARDS). GSI uses the bare words, the
# 自治体標準オープンデータセット prefixes them with 災害種別_.
HAZARD_COLUMNS: dict[str, str] = {}
for _en, _ja in SHELTER_HAZARDS.items():
    HAZARD_COLUMNS[_ja] = _en
    HAZARD_COLUMNS["災害種別_" + _ja] = _en
HAZARD_COLUMNS["崖崩れ、土石流及び地すべり"] = "landslide"
HAZARD_COLUMNS["災害種別_崖崩れ、土石流及び地すべり"] = "landslide"

TRUE_WORDS = {"1", "○", "◯", "〇", "true", "yes", "y", "有", "可", "●", "◎"}

NAME_COLS = ("施設・場所名", "指定緊急避難場所名", "指定避難所名", "避難所名", "名称", "施設名")
CODE_COLS = ("団体コード", "市町村コード", "所在地_全国地方公共団体コード", "全国地方公共団体コード",
             "都道府県コード又は市区町村コード", "地方公共団体コード")
ADDR_COLS = ("住所", "所在地_連結表記", "所在地", "住所_連結表記")
LAT_COLS = ("緯度", "lat", "latitude", "y")
LON_COLS = ("経度", "lon", "lng", "longitude", "x")
ID_COLS = ("共通ID", "ID", "id")
NO_COLS = ("NO", "No", "no", "番号")
CAPACITY_COLS = ("想定収容人数", "収容人数", "収容可能人数", "受入可能人数")
SSID_COLS = ("SSID", "ssid", "ＳＳＩＤ")
PROVIDER_COLS = ("設置者", "提供者", "事業者", "運営者", "設置者名")


def _first(cols, candidates) -> str | None:
    for c in candidates:
        if c in cols:
            return c
    return None


def _truthy(values: pd.Series) -> pd.Series:
    s = values.fillna("").astype(str).str.strip().str.lower()
    return s.isin(TRUE_WORDS)


def _norm(s: str) -> str:
    return unicodedata.normalize("NFKC", s).strip()


# --- entry point -----------------------------------------------------------------------


def read_source(path: Path, *, progress: bool = True) -> list[Loaded]:
    """Recognise ``path`` by content and read it (a GeoPackage may hold several layers)."""
    head = path.read_bytes()[:4096] if path.stat().st_size else b""
    if head.startswith(b"SQLite format 3\x00"):
        return [_read_layer(path, layer) for layer in pyogrio.list_layers(path)[:, 0]]
    if head[:4] == b"\x00\x00\x27\x0a":  # ESRI Shapefile main file (file code 9994)
        return [_read_layer(path, None)]
    text = _decode(path.read_bytes())
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return [_read_json(path, text)]
    return [_read_csv(path, text, progress=progress)]


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Shift_JIS (cp932: the superset Windows tools and
    most municipal portals actually write)."""
    for enc in ("utf-8-sig", "cp932"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise Unrecognised("neither UTF-8 nor Shift_JIS text")


# --- JSON: GeoJSON / TopoJSON ---------------------------------------------------------


def _read_json(path: Path, text: str) -> Loaded:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Unrecognised(f"not JSON: {exc}") from exc
    kind = doc.get("type") if isinstance(doc, dict) else None
    if kind == "unavailable":
        return Loaded("skip", str(doc.get("code", "")), "publisher stub",
                      note=f"no data published for {doc.get('code')} {doc.get('name', '')}: "
                      f"{doc.get('message', '')}".strip())
    if kind == "Topology":
        gdf = pyogrio.read_dataframe(path)
        if gdf.crs is None:
            gdf = gdf.set_crs(WGS84)
        return _from_polygons(gdf, path)
    if kind != "FeatureCollection":
        raise Unrecognised(f"JSON of type {kind!r} is neither GeoJSON nor TopoJSON")
    feats = doc.get("features") or []
    props = feats[0].get("properties") or {} if feats else {}
    if "共通ID" in props or "施設・場所名" in props:
        return _gsi_geojson(doc, path)
    gdf = pyogrio.read_dataframe(path)
    if gdf.crs is None:
        gdf = gdf.set_crs(WGS84)
    return _from_polygons(gdf, path)


def _read_layer(path: Path, layer: str | None) -> Loaded:
    gdf = pyogrio.read_dataframe(path, layer=layer)
    if gdf.crs is None:
        gdf = gdf.set_crs(WGS84)
    return _from_polygons(gdf, path)


def _from_polygons(gdf: gpd.GeoDataFrame, path: Path) -> Loaded:
    cols = set(gdf.columns)
    gdf = gdf.to_crs(WGS84)
    if "N03_007" in cols:
        return _n03(gdf)
    code_col = _first(cols, ("code", "regioncode", "REGIONCODE", "regcode"))
    if code_col:
        return _jma_polygons(gdf, code_col)
    if "N03_001" in cols:
        return Loaded("skip", "prefectures", "prefecture outlines",
                      note="prefecture outlines carry no area code; not needed (prefectures are "
                      "dissolved from N03 municipalities)")
    raise Unrecognised(f"polygon layer with columns {sorted(cols - {'geometry'})} is no known source")


def _n03(gdf: gpd.GeoDataFrame) -> Loaded:
    """国土数値情報 N03 行政区域: one row per 5-digit code (islands dissolved)."""
    bad: list[BadRow] = []
    code = gdf["N03_007"].map(lambda v: normalise_code(v, 5))
    missing = code.isna()
    for i in np.flatnonzero(missing.to_numpy()):
        bad.append(BadRow(f"feature {i + 1}", f"no N03_007 code ({gdf['N03_004'].iloc[i] or '所属未定地'})"))
    g = gdf.loc[~missing].copy()
    g["code"] = code[~missing]
    city = pd.Series([x if isinstance(x, str) and x else None for x in g["N03_003"]], index=g.index, dtype=object)
    ward = pd.Series([x if isinstance(x, str) and x else None for x in g["N03_004"]], index=g.index, dtype=object)
    is_ward = [is_designated_ward(c, w) for c, w in zip(city, ward, strict=True)]
    g["is_ward"] = is_ward
    g["name"] = [w if w and not iw else (f"{c}{w}" if iw else c) for c, w, iw in zip(city, ward, is_ward, strict=True)]
    g["name"] = [n or p for n, p in zip(g["name"], g["N03_001"], strict=True)]
    g["parent"] = ""
    g["parent_name"] = np.where(g["is_ward"], city.fillna("").astype(str), "")
    wards = g[g["is_ward"]]
    for (_pref, _city), grp in wards.groupby(["N03_001", "N03_003"]):
        g.loc[grp.index, "parent"] = designated_city_code(list(grp["code"]))
    g["geometry"] = shapely.make_valid(g.geometry.values)
    out = g.dissolve(by="code", as_index=False, aggfunc={"name": "first", "parent": "first", "parent_name": "first"})
    out["scheme"] = "n03"
    prefs = sorted(set(out["code"].str[:2]))
    scope = "national" if len(prefs) > 5 else ",".join(prefs)
    variant = "wards" if (out["parent"] != "").any() else "cities"
    areas = gpd.GeoDataFrame(out[["scheme", "code", "name", "parent", "parent_name", "geometry"]], crs=WGS84)
    return Loaded("n03", f"{scope}:{variant}", "N03 行政区域", areas=areas, bad=bad)


def _jma_polygons(gdf: gpd.GeoDataFrame, code_col: str) -> Loaded:
    """JMA 予報区等GISデータ (or its rebuild): 7-digit 市町村等 and 6-digit 地域 polygons."""
    bad: list[BadRow] = []
    codes = gdf[code_col].astype(str).str.strip()
    ok = codes.str.fullmatch(r"\d{6}|\d{7}")
    for i in np.flatnonzero(~ok.to_numpy()):
        bad.append(BadRow(f"feature {i + 1}", f"not a 6/7-digit JMA code: {codes.iloc[i]!r}"))
    g = gdf.loc[ok].copy()
    g["code"] = codes[ok]
    g["scheme"] = np.where(g["code"].str.len() == 7, "jma.city", "jma.forecast_area")
    name_col = _first(g.columns, ("name", "regionname", "NAME"))
    g["name"] = g[name_col].astype(str) if name_col else ""
    g["parent"] = ""
    g["geometry"] = shapely.make_valid(g.geometry.values)
    areas = gpd.GeoDataFrame(g[["scheme", "code", "name", "parent", "geometry"]], crs=WGS84)
    codes_df = None
    if {"matomeareacode", "firstareacode", "prefcode"} <= set(g.columns):
        c = g[g["scheme"] == "jma.city"]
        codes_df = pd.DataFrame({
            "code": c["code"], "name": c["name"], "level": "city",
            "matome": c["matomeareacode"].astype(str), "first": c["firstareacode"].astype(str),
            "pref": c["prefcode"].astype(str),
        })
    prefs = sorted(set(g["code"].str[:2]))
    scope = ("national" if len(prefs) > 5 else ",".join(prefs)) + ":" + ",".join(sorted(set(g["scheme"])))
    return Loaded("jma_polygons", scope, "JMA 予報区等 polygons", areas=areas, codes=codes_df, bad=bad)


# --- GSI shelters GeoJSON -------------------------------------------------------------


def _gsi_geojson(doc: dict, path: Path) -> Loaded:
    feats = doc["features"]
    rows = []
    for f in feats:
        p = dict(f.get("properties") or {})
        geom = f.get("geometry") or {}
        coords = geom.get("coordinates") if geom.get("type") == "Point" else None
        p["経度"], p["緯度"] = (coords[0], coords[1]) if coords and len(coords) >= 2 else (None, None)
        rows.append(p)
    df = pd.DataFrame(rows, dtype=object)
    lines = [f"feature {i + 1}" for i in range(len(df))]
    fc_code = str(doc.get("name") or "")
    return _shelter_frame(df, lines, fc_code if valid_lg_code(fc_code) else None, source_label="GSI GeoJSON")


# --- CSV --------------------------------------------------------------------------------


def _read_csv(path: Path, text: str, *, progress: bool) -> Loaded:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [_norm(h) for h in next(reader)]
    except StopIteration as exc:
        raise Unrecognised("empty file") from exc
    rows: list[list[str]] = []
    lines: list[int] = []
    start = reader.line_num + 1
    bar = tqdm(reader, desc=path.name, unit=" rows", leave=False,
               disable=None if progress and text.count("\n") > PROGRESS_ROWS else True)
    for row in bar:
        if any(cell.strip() for cell in row):
            rows.append(row + [""] * (len(header) - len(row)))
            lines.append(start)
        start = reader.line_num + 1
    cols = set(header)
    df = pd.DataFrame([r[: len(header)] for r in rows], columns=header, dtype=object)
    if {"lg_code6", "jma_warning_code7"} <= cols:
        return Loaded("skip", "crosswalk", "code crosswalk",
                      note="code crosswalk: not needed, lalert derives it from N03 and the JMA tables")
    if {"citycode", "matomeareacode", "firstareacode", "prefcode"} <= cols:
        return _jma_table(df, "jmacode")
    for lvl, col in (("city", "citycode"), ("matome", "matomeareacode"), ("first", "firstareacode"), ("pref", "prefcode")):
        if col in cols and (col.replace("code", "name") in cols):
            return _jma_names(df, lvl, col, col.replace("code", "name"))
    if _first(cols, SSID_COLS) and _first(cols, LAT_COLS):
        return _hotspots(df, lines)
    if _first(cols, LAT_COLS) and _first(cols, LON_COLS) and _first(cols, NAME_COLS):
        return _shelter_frame(df, lines, None, source_label="shelter CSV")
    if "code_table" in cols:
        return Loaded("skip", "code list", "code list",
                      note="area codes without polygons (earthquake / tsunami areas): nothing to map")
    if len(header) == 4 and re.fullmatch(r"\d{7}", header[0]):
        return Loaded("skip", "centroids", "JMA centroids",
                      note="JMA area centroids (points, no polygons): not needed")
    raise Unrecognised(f"CSV with columns {header[:8]} is no known source")


def _jma_table(df: pd.DataFrame, which: str) -> Loaded:
    bad = [BadRow(i + 2, f"bad citycode {c!r}") for i, c in enumerate(df["citycode"]) if not re.fullmatch(r"\d{7}", str(c))]
    ok = df["citycode"].astype(str).str.fullmatch(r"\d{7}")
    d = df[ok]
    city = pd.DataFrame({"code": d["citycode"], "name": d["cityname"], "level": "city",
                         "matome": d["matomeareacode"], "first": d["firstareacode"], "pref": d["prefcode"]})
    names = []
    for lvl, col in (("matome", "matomeareacode"), ("first", "firstareacode"), ("pref", "prefcode")):
        n = d[[col, col.replace("code", "name")]].drop_duplicates(col)
        names.append(pd.DataFrame({"code": n[col], "name": n[col.replace("code", "name")], "level": lvl,
                                   "matome": "", "first": "", "pref": ""}))
    codes = pd.concat([city, *names], ignore_index=True)
    return Loaded("jma_table", which, "JMA 市町村等 → 地域 table", codes=codes, bad=bad)


def _jma_names(df: pd.DataFrame, level: str, code_col: str, name_col: str) -> Loaded:
    codes = pd.DataFrame({"code": df[code_col], "name": df[name_col], "level": level,
                          "matome": "", "first": "", "pref": ""})
    return Loaded("jma_table", f"{level} names", f"JMA {level} code names", codes=codes)


# --- shelters (GSI and 自治体標準オープンデータセット share this) -------------------------------


def _coords(df: pd.DataFrame, lines: list, bad: list[BadRow]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Numeric lat/lon and a keep mask; every rejected row is reported with its line."""
    lat_c, lon_c = _first(df.columns, LAT_COLS), _first(df.columns, LON_COLS)
    lat = pd.to_numeric(df[lat_c].map(lambda v: _norm(str(v)) if v not in (None, "") else None), errors="coerce").to_numpy(float)
    lon = pd.to_numeric(df[lon_c].map(lambda v: _norm(str(v)) if v not in (None, "") else None), errors="coerce").to_numpy(float)
    missing = np.isnan(lat) | np.isnan(lon)
    from lalert.geo.codes import JAPAN_BOUNDS

    w, s, e, n = JAPAN_BOUNDS
    outside = ~missing & ~((lat >= s) & (lat <= n) & (lon >= w) & (lon <= e))
    blank = (df[lat_c].fillna("").astype(str).str.strip() == "") | (df[lon_c].fillna("").astype(str).str.strip() == "")
    for i in np.flatnonzero(missing):
        bad.append(BadRow(lines[i], "missing coordinates" if blank.iloc[i] else
                          f"unreadable coordinates ({df[lat_c].iloc[i]!r}, {df[lon_c].iloc[i]!r})"))
    for i in np.flatnonzero(outside):
        bad.append(BadRow(lines[i], f"outside Japan ({lat[i]}, {lon[i]})"))
    return lat, lon, ~(missing | outside)


def _shelter_frame(df: pd.DataFrame, lines: list, fc_code: str | None, *, source_label: str) -> Loaded:
    bad: list[BadRow] = []
    cols = list(df.columns)
    lat, lon, keep = _coords(df, lines, bad)
    name_c = _first(cols, NAME_COLS)
    # kind: an explicit 種別 column, else the name column's own word, else designations.
    hazard_cols = {c: en for c, en in HAZARD_COLUMNS.items() if c in cols}
    if "種別" in cols:
        kind = np.where(df["種別"].astype(str).str.contains("緊急"), "emergency_site", "shelter")
    elif name_c == "指定避難所名" or (not hazard_cols and name_c != "指定緊急避難場所名"):
        kind = np.full(len(df), "shelter", dtype=object)
    else:
        kind = np.full(len(df), "emergency_site", dtype=object)
    same = np.zeros(len(df), dtype=bool)
    for c in ("指定避難所との住所同一", "指定緊急避難場所との住所同一"):
        if c in cols:
            same |= _truthy(df[c]).to_numpy()
    kind = np.where(same, "both", kind)
    # 福祉避難所: GSI marks who a site takes in (受入対象者); 自治体標準 CSVs may say it outright
    welfare = np.zeros(len(df), dtype=bool)
    if "受入対象者" in cols:
        welfare |= (df["受入対象者"].fillna("").astype(str).str.strip() != "").to_numpy()
    for c in ("福祉避難所", "福祉避難所指定"):
        if c in cols:
            welfare |= _truthy(df[c]).to_numpy()
    roles = np.where(welfare & (kind != "emergency_site"),
                     np.where(kind == "both", "emergency_site,welfare_shelter", "welfare_shelter"), "")
    flags = {en: _truthy(df[c]).to_numpy() for c, en in hazard_cols.items()}
    hazards = [",".join(h for h in SHELTER_HAZARDS if h in flags and flags[h][i]) for i in range(len(df))]
    # municipality: a code column, else the FeatureCollection name, else the 共通ID
    # (GSI 共通ID = 'E' + 5-digit JIS code + serial, e.g. E4320200004111 → 432024).
    code_c = _first(cols, CODE_COLS)
    if code_c:
        muni = df[code_c].map(lambda v: _lg6(v))
    elif fc_code:
        muni = pd.Series([fc_code] * len(df), dtype=object)
    elif "共通ID" in cols:
        muni = df["共通ID"].map(lambda v: lg_code(str(v)[1:6]) if re.fullmatch(r"[A-Z]\d{5}\d*", str(v)) else None)
    else:
        muni = pd.Series([None] * len(df), dtype=object)
    unknown = keep & muni.isna().to_numpy()
    for i in np.flatnonzero(unknown):
        raw = df[code_c].iloc[i] if code_c else ""
        bad.append(BadRow(lines[i], f"unknown municipality code {raw!r}"))
    keep &= ~unknown
    id_c, no_c = _first(cols, ID_COLS), _first(cols, NO_COLS)
    ids = []
    for i in range(len(df)):
        v = str(df[id_c].iloc[i]).strip() if id_c else ""
        if not v or v == "nan":
            no = str(df[no_c].iloc[i]).strip() if no_c else str(lines[i])
            v = f"{muni.iloc[i]}-{kind[i]}-{no}"
        ids.append(v)
    cap_c = _first(cols, CAPACITY_COLS)
    capacity = pd.to_numeric(df[cap_c], errors="coerce") if cap_c else pd.Series([np.nan] * len(df))
    addr_c = _first(cols, ADDR_COLS)
    out = gpd.GeoDataFrame({
        "id": ids,
        "name": df[name_c].astype(str).map(_norm) if name_c else "",
        "kind": kind,
        "hazards": hazards,
        "municipality_code": muni,
        "address": df[addr_c].fillna("").astype(str) if addr_c else "",
        "capacity": capacity.to_numpy(float),
        "lat": lat, "lon": lon, "roles": roles, "line": [str(x) for x in lines],
    }, geometry=gpd.points_from_xy(np.nan_to_num(lon), np.nan_to_num(lat)), crs=JGD2011)
    out = out.loc[keep].to_crs(WGS84)
    out["lat"], out["lon"] = out.geometry.y, out.geometry.x
    munis = sorted(set(out["municipality_code"].dropna()))
    # which list this file is (a source is one list of one publisher set)
    listing = ("mixed" if "種別" in cols else "emergency_sites" if hazard_cols or name_c == "指定緊急避難場所名"
               else "designated_shelters")
    scope = (",".join(munis) if len(munis) <= 3 else f"{len(munis)} municipalities {munis[0]}…{munis[-1]}")
    return Loaded("shelters", f"{listing}:{scope}", source_label, shelters=out, bad=bad)


def _lg6(v) -> str | None:
    """A municipality code cell → valid 6-digit lg_code (a 5-digit JIS code gets its check
    digit; a wrong check digit is refused, not repaired)."""
    s = normalise_code(v, 6) if v is not None and len(str(v).strip().removesuffix(".0")) >= 6 else None
    if s and valid_lg_code(s):
        return s
    five = normalise_code(v, 5) if v is not None and len(str(v).strip().removesuffix(".0")) <= 5 else None
    return lg_code(five) if five else None


# --- hotspots (公衆無線LANアクセスポイント一覧) ---------------------------------------------


def _hotspots(df: pd.DataFrame, lines: list) -> Loaded:
    bad: list[BadRow] = []
    cols = list(df.columns)
    lat, lon, keep = _coords(df, lines, bad)
    name_c = _first(cols, NAME_COLS + ("設置場所",))
    code_c = _first(cols, CODE_COLS)
    muni = df[code_c].map(_lg6) if code_c else pd.Series([None] * len(df), dtype=object)
    if code_c:
        unknown = keep & muni.isna().to_numpy()
        for i in np.flatnonzero(unknown):
            bad.append(BadRow(lines[i], f"unknown municipality code {df[code_c].iloc[i]!r}"))
        keep &= ~unknown
    id_c, no_c = _first(cols, ID_COLS), _first(cols, NO_COLS)
    ids = [str(df[id_c].iloc[i]) if id_c else f"{muni.iloc[i] or 'wifi'}-{df[no_c].iloc[i] if no_c else lines[i]}" for i in range(len(df))]
    prov_c, addr_c, ssid_c = _first(cols, PROVIDER_COLS), _first(cols, ADDR_COLS), _first(cols, SSID_COLS)
    out = gpd.GeoDataFrame({
        "id": ids,
        "name": df[name_c].astype(str).map(_norm) if name_c else "",
        "ssid": df[ssid_c].fillna("").astype(str).map(_norm),
        "provider": df[prov_c].fillna("").astype(str) if prov_c else "",
        "address": df[addr_c].fillna("").astype(str) if addr_c else "",
        "municipality_code": muni,
        "lat": lat, "lon": lon, "line": [str(x) for x in lines],
    }, geometry=gpd.points_from_xy(np.nan_to_num(lon), np.nan_to_num(lat)), crs=JGD2011)
    out = out.loc[keep].to_crs(WGS84)
    out["lat"], out["lon"] = out.geometry.y, out.geometry.x
    munis = sorted(set(out["municipality_code"].dropna()))
    scope = ",".join(munis[:3]) + (f"+{len(munis) - 3}" if len(munis) > 3 else "")
    return Loaded("hotspots", scope or "unknown", "公衆無線LAN hotspots", hotspots=out, bad=bad)

