"""The geo store: one GeoPackage file holding every imported source. Edge code (files).

Layers: ``areas``, ``shelters``, ``hotspots`` (spatial, EPSG:4326), ``jma_codes`` and
``sources`` (attributes). Every data row carries its ``source`` key (kind + scope read
from the content); importing a file with the same key replaces that source's rows, so a
re-import is idempotent and a newer edition supersedes the older one. The whole file is
rewritten to a temporary name and moved into place, so readers never see half an import.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from lalert.geo.data import (
    AREA_COLUMNS,
    CODE_COLUMNS,
    HOTSPOT_COLUMNS,
    SHELTER_COLUMNS,
    GeoData,
    build_geodata,
)
from lalert.geo.readers import BadRow, Loaded, Unrecognised, read_source

SPATIAL = {"areas": AREA_COLUMNS, "shelters": SHELTER_COLUMNS, "hotspots": HOTSPOT_COLUMNS}
SOURCE_COLUMNS = ["key", "kind", "scope", "label", "path", "sha256", "mtime", "imported_at", "rows", "bad"]
KIND_ORDER = {"n03": 0, "jma_polygons": 1, "jma_table": 2, "shelters": 3, "hotspots": 4}
DATA_SUFFIXES = {".json", ".geojson", ".topojson", ".csv", ".txt", ".gpkg", ".shp"}


def default_db(home: str | Path | None = None) -> Path:
    """``<home>/geo.gpkg``; home is ``$LALERT_HOME`` or ``./lalert-home`` (as in lalert.config)."""
    base = Path(home or os.environ.get("LALERT_HOME") or "./lalert-home")
    return base / "geo.gpkg"


@dataclass
class FileReport:
    path: str
    action: str  # loaded | replaced | unchanged | older | skipped | error
    label: str = ""
    key: str = ""
    rows: int = 0
    bad: list[BadRow] = field(default_factory=list)
    note: str = ""


@dataclass
class ImportReport:
    files: list[FileReport] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files if f.action in ("loaded", "replaced"))

    @property
    def bad_rows(self) -> int:
        return sum(len(f.bad) for f in self.files)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.files if f.action == "error")


def expand(paths: Iterable[str | Path]) -> list[Path]:
    """Files and directories (recursively, sorted); sidecars (.dbf, .prj …) are skipped."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in DATA_SUFFIXES))
        else:
            out.append(p)
    return out


# --- reading the store ---------------------------------------------------------------


def _read_layers(db: Path) -> dict[str, pd.DataFrame]:
    layers: dict[str, pd.DataFrame] = {}
    names = set(pyogrio.list_layers(db)[:, 0]) if db.exists() else set()
    for name, cols in (*SPATIAL.items(), ("jma_codes", CODE_COLUMNS), ("sources", SOURCE_COLUMNS)):
        if name in names:
            df = pyogrio.read_dataframe(db, layer=name, read_geometry=name in SPATIAL)
        elif name in SPATIAL:
            df = gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in [*cols, "source"]},
                                  geometry=gpd.GeoSeries([], crs="EPSG:4326"))
        else:
            df = pd.DataFrame({c: pd.Series(dtype=object) for c in [*cols, "source"]})
        layers[name] = df
    return layers


def load_geodata(path: str | Path) -> GeoData:
    """GeoData from an imported store file or its directory (``lalert data import``)."""
    return load_store(Path(path))


def load_store(db: Path) -> GeoData:
    if db.is_dir():
        db = db / "geo.gpkg"
    if not db.exists():
        raise FileNotFoundError(f"no geo store at {db} (run `lalert data import --db {db} SOURCE…`)")
    layers = _read_layers(db)
    order = {k: i for i, k in enumerate(layers["sources"].sort_values("imported_at")["key"])} if len(layers["sources"]) else {}

    def by_age(df: pd.DataFrame) -> pd.DataFrame:
        # older imports first, so the newest import wins on duplicate keys
        if df.empty or "source" not in df:
            return df
        return df.iloc[np.argsort(df["source"].map(order).fillna(-1).to_numpy(), kind="stable")]

    return build_geodata(
        areas=[by_age(layers["areas"])], shelters=[by_age(layers["shelters"])],
        hotspots=[by_age(layers["hotspots"])], codes=[by_age(layers["jma_codes"])],
    )


# --- importing -------------------------------------------------------------------------


def import_sources(
    db: Path,
    paths: Iterable[str | Path],
    *,
    say: Callable[[str], None] = lambda _m: None,
    progress: bool = True,
) -> ImportReport:
    """Import ``paths`` (files or directories) into ``db``; report as each file loads."""
    layers = _read_layers(db)
    sources = layers["sources"].set_index("key", drop=False) if len(layers["sources"]) else None
    report = ImportReport()
    changed = False
    staged: list[tuple[Path, str, float, Loaded]] = []
    for path in expand(paths):
        try:
            raw = path.read_bytes()
            loaded_list = read_source(path, progress=progress)
        except OSError as exc:
            report.files.append(FileReport(str(path), "error", note=f"cannot read: {exc.strerror}"))
            say(f"{path}: cannot read: {exc.strerror}")
            continue
        except (Unrecognised, ValueError, pyogrio.errors.DataSourceError) as exc:
            report.files.append(FileReport(str(path), "error", note=f"not recognised: {exc}"))
            say(f"{path}: not recognised: {exc}")
            continue
        sha = hashlib.sha256(raw).hexdigest()
        staged.extend((path, sha, path.stat().st_mtime, x) for x in loaded_list)
    # boundaries first, so sites are checked against the municipalities of this same run
    staged.sort(key=lambda t: KIND_ORDER.get(t[3].kind, 9))
    for path, sha, mtime, loaded in staged:
        key = f"{loaded.kind}:{loaded.scope}"
        if loaded.kind == "skip":
            report.files.append(FileReport(str(path), "skipped", loaded.label, key, note=loaded.note))
            say(f"{path}: skipped — {loaded.note}")
            continue
        _check_codes(loaded, layers)
        prev = sources.loc[key] if sources is not None and key in sources.index else None
        if prev is not None and prev["sha256"] == sha:
            report.files.append(FileReport(str(path), "unchanged", loaded.label, key, note="already imported"))
            say(f"{path}: {loaded.label} unchanged (already imported)")
            continue
        if prev is not None and float(prev["mtime"]) > mtime:
            report.files.append(FileReport(str(path), "older", loaded.label, key, bad=loaded.bad,
                                           note=f"older than the stored {prev['path']}; kept the stored data"))
            say(f"{path}: older than stored {prev['path']}, not imported")
            continue
        action = "replaced" if prev is not None else "loaded"
        _replace(layers, key, loaded)
        row = {"key": key, "kind": loaded.kind, "scope": loaded.scope, "label": loaded.label,
               "path": str(path), "sha256": sha, "mtime": mtime,
               "imported_at": datetime.now(UTC).isoformat(), "rows": loaded.rows, "bad": len(loaded.bad)}
        src = layers["sources"]
        layers["sources"] = pd.concat([src[src["key"] != key], pd.DataFrame([row])], ignore_index=True)
        sources = layers["sources"].set_index("key", drop=False)
        changed = True
        fr = FileReport(str(path), action, loaded.label, key, loaded.rows, loaded.bad, loaded.note)
        report.files.append(fr)
        say(f"{path}: {loaded.label}: {action} {loaded.rows} rows" + (f", {len(loaded.bad)} bad rows" if loaded.bad else ""))
        for b in loaded.bad[:20]:
            say(f"    line {b.line}: {b.reason}")
        if len(loaded.bad) > 20:
            say(f"    … {len(loaded.bad) - 20} more bad rows")
    if changed:
        _write(db, layers)
    return report


def _check_codes(loaded: Loaded, layers: dict[str, pd.DataFrame]) -> None:
    """A site whose municipality code is not in the loaded N03 boundaries of its prefecture
    is a bad row (typo'd or retired code), reported with its line."""
    for attr in ("shelters", "hotspots"):
        frame = getattr(loaded, attr)
        if frame is None or frame.empty:
            continue
        n03 = layers["areas"][layers["areas"]["scheme"] == "n03"]
        known = set(n03["code"]) | set(n03["parent"].dropna()) - {""}
        if not known:
            return
        prefs = {c[:2] for c in known}
        five = frame["municipality_code"].astype(str).str[:5]
        unknown = five.str[:2].isin(prefs) & ~five.isin(known)
        for line, code in zip(frame.loc[unknown, "line"], frame.loc[unknown, "municipality_code"], strict=True):
            loaded.bad.append(BadRow(line, f"unknown municipality code {code}"))
        setattr(loaded, attr, frame.loc[~unknown])


def _replace(layers: dict[str, pd.DataFrame], key: str, loaded: Loaded) -> None:
    for name, frame in (("areas", loaded.areas), ("shelters", loaded.shelters),
                        ("hotspots", loaded.hotspots), ("jma_codes", loaded.codes)):
        old = layers[name]
        old = old[old["source"] != key] if "source" in old else old
        if frame is not None and len(frame):
            new = frame.drop(columns=[c for c in ("line",) if c in frame.columns]).copy()
            new["source"] = key
            if "hazards" in new:
                new["hazards"] = [",".join(h) if isinstance(h, tuple) else str(h) for h in new["hazards"]]
            old = pd.concat([old, new], ignore_index=True) if len(old) else new
        layers[name] = old


def _write(db: Path, layers: dict[str, pd.DataFrame]) -> None:
    db.parent.mkdir(parents=True, exist_ok=True)
    tmp = db.with_name(db.stem + ".importing.gpkg")
    if tmp.exists():
        tmp.unlink()
    for name, df in layers.items():
        if df.empty:
            continue
        df = df.reset_index(drop=True)
        if name in SPATIAL:
            df = gpd.GeoDataFrame(df, geometry="geometry", crs="EPSG:4326")
            for c in df.columns:
                if c != "geometry" and df[c].dtype == object:
                    df[c] = df[c].astype(str).where(df[c].notna(), None)
        pyogrio.write_dataframe(df, tmp, layer=name, driver="GPKG")
    os.replace(tmp, db)
