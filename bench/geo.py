"""Geo benchmark: prints figures, compares with a baseline in the same run (no asserts).

1. 1,000,000 random points in Kyushu against a prefecture footprint: vectorised
   (shapely 2 ``contains_xy`` + geodesic distances) vs a plain Python loop over points
   (``geom.contains(Point)``) on a subsample, extrapolated.
2. Enrichment of a prefecture-wide warning with all Kumamoto data (median over runs),
   vs the same with the gazetteer cache cleared (cold).
3. National gazetteer: import and load time of the store, resident memory (RSS).

Usage: .venv/bin/python bench/geo.py [--corpus PATH] [--points N] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lalert.geo.distance import distances_to  # noqa: E402
from lalert.geo.enrich import enrich  # noqa: E402
from lalert.geo.store import import_sources, load_geodata  # noqa: E402
from lalert.model import Alert, Area, Hazard  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, default=Path(os.environ.get("LALERT_CORPUS", ROOT.parent / "shared" / "corpus")))
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    geo_dir = args.corpus / "geo"

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "geo.gpkg"
        rss0 = rss_mb()
        t = time.perf_counter()
        rep = import_sources(db, [geo_dir / "jma-areas", geo_dir / "jma" / "jmacode.csv",
                                  geo_dir / "jma" / "matomeareacode.csv",
                                  geo_dir / "national" / "N03-21_210101_s0010.topojson",
                                  geo_dir / "municipalities", geo_dir / "shelters"], progress=False)
        t_import = time.perf_counter() - t
        t_load, geo = timed(lambda: load_geodata(db), 3)
        rss1 = rss_mb()
        print(f"national gazetteer: import {t_import:.2f} s ({rep.rows} rows, {db.stat().st_size / 1e6:.1f} MB), "
              f"load median {t_load * 1000:.0f} ms, RSS {rss1:.0f} MB (+{rss1 - rss0:.0f} MB), "
              f"{len(geo.areas)} areas, {len(geo.shelters)} shelters")

        # 1. point in footprint: vectorised vs Python loop
        fp = geo.area("jma.forecast_area", "430000")
        rng = np.random.default_rng(42)
        lons = rng.uniform(129.5, 132.1, args.points)  # Kyushu bounding box
        lats = rng.uniform(31.0, 34.0, args.points)
        t = time.perf_counter()
        inside = shapely.contains_xy(fp, lons, lats)
        t_vec = time.perf_counter() - t
        sub = 20_000
        raw = geo.gazetteer.resolve("jma.forecast_area", "430000", simplify=True).geometry
        t = time.perf_counter()
        loop = [raw.contains(shapely.Point(x, y)) for x, y in zip(lons[:sub], lats[:sub], strict=True)]
        t_loop = (time.perf_counter() - t) * args.points / sub
        assert_same = bool(np.array_equal(np.array(loop), inside[:sub]))
        print(f"point-in-footprint, {args.points:,} points: vectorised {t_vec * 1000:.0f} ms vs Python loop "
              f"~{t_loop:.1f} s (extrapolated from {sub:,}); speed-up ×{t_loop / t_vec:.0f}; "
              f"{inside.sum():,} inside; results equal on subsample: {assert_same}")
        n_d = 100_000
        t = time.perf_counter()
        distances_to(fp, lons[:n_d], lats[:n_d])
        t_dist = time.perf_counter() - t
        print(f"geodesic distance to footprint, {n_d:,} points: {t_dist * 1000:.0f} ms "
              f"({t_dist / n_d * 1e6:.1f} µs/point)")

        # 2. prefecture-wide warning enrichment
        codes = sorted(c for c in geo.jma_codes.loc[geo.jma_codes["pref"] == "430000", "code"])
        alert = Alert(
            format="jmaxml", id="bench", info_type="issue", status="actual", kind="weather_warning",
            title="熊本県気象警報", issued_at="2026-07-03T16:40:00+09:00", raw_sha256="0" * 64,
            areas=tuple(Area(c, "jma.city") for c in codes),
            hazards=tuple(Hazard(c, "jma.city", "heavy_rain_warning", "大雨警報", "issued",
                                 sub_kinds=("landslide", "inundation")) for c in codes),
        )

        def cold():
            geo._gaz = None
            return enrich(alert, geo)

        def new_area_set():
            geo.gazetteer._unions.clear()  # as if this set of areas had never been seen
            return enrich(alert, geo)

        t_cold, _ = timed(cold, args.runs)
        t_new, _ = timed(new_area_set, args.runs)
        t_warm, e = timed(lambda: enrich(alert, geo), args.runs)
        print(f"enrich prefecture-wide warning ({len(codes)} areas, {len(e.shelters)} shelters, "
              f"{sum(1 for s in e.shelters if s.fits_hazard)} fitting): median warm {t_warm * 1000:.0f} ms, "
              f"new area set {t_new * 1000:.0f} ms, cold gazetteer {t_cold * 1000:.0f} ms (baseline), "
              f"×{t_cold / t_warm:.1f}")
        print(f"RSS at end {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
