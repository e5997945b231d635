"""What judging each subscriber by the level where it is costs (issue: per-place push truth).

Nara's warning telegram (VPWW53: 大雨特別警報 in 27 towns, 注意報 in 13) enriched over the
corpus municipal polygons, matched against N point subscriptions spread over 奈良県 with a
radius of 0–2 km and a ``min_level`` of none / 2 / 3 / 4 / 5. Baseline, same run and
alternating: the same index judged by the alert's highest level anywhere (the old rule,
``filter_rows(level=effective_level)``). CPU time, median of 7. Also the Web Push side:
``touched`` (the places one subscriber's place touches) per subscriber.

    .venv/bin/python bench/push_place_levels.py [--subs 200000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lalert.geo.enrich import enrich  # noqa: E402
from lalert.geo.store import import_sources, load_geodata  # noqa: E402
from lalert.parsers import parse  # noqa: E402
from lalert.subscriptions.index import (  # noqa: E402
    SubscriptionIndex,
    alert_kinds,
    alert_languages,
    area_keys,
    effective_level,
    footprint_of,
    match,
    places_of,
    touched,
)
from lalert.subscriptions.model import Subscription  # noqa: E402

CORPUS = Path(os.environ.get("LALERT_CORPUS", ROOT.parent / "shared" / "corpus"))
NARA = (135.54, 33.86, 136.23, 34.78)  # the telegram's bbox (lon/lat)


def old_rule(ea, idx: SubscriptionIndex) -> list[str]:
    """The matcher before per-place levels: one level for the whole alert."""
    rows = np.unique(idx.reached(footprint_of(ea), area_keys(ea)))
    rows = idx.filter_rows(rows, kinds=alert_kinds(ea), level=effective_level(ea),
                           languages=alert_languages(ea), drill=not ea.alert.is_real)
    return [idx.ids[r] for r in rows.tolist()]


def corpus_city_geo():
    """The corpus's JMA municipal polygons, imported into a throw-away geo store."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "geo.gpkg"
        import_sources(db, [CORPUS / "geo" / "jma-areas" / "jma_city_areas.geojson"],
                       progress=False)
        return load_geodata(db)


def cpu(fn) -> float:
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subs", type=int, default=200_000)
    a = ap.parse_args()
    geo = corpus_city_geo()
    ea = enrich(parse((CORPUS / "xml" / "jma" / "15_08_01_130412_VPWW53.xml").read_bytes())[0],
                geo)
    rng = np.random.default_rng(3)
    n = a.subs
    lon, lat = rng.uniform(NARA[0], NARA[2], n), rng.uniform(NARA[1], NARA[3], n)
    radius = rng.uniform(0, 2_000, n)
    min_level = rng.choice(np.array([0, 2, 3, 4, 5], np.int8), n)
    ids = [f"s{i}" for i in range(n)]
    idx = SubscriptionIndex.from_points(ids, lon, lat, radius, min_level=min_level)
    print(f"{n:,} point subscriptions over 奈良県, min_level none/2/3/4/5")
    new_t, old_t = [], []
    for _ in range(7):  # alternate: both see the same machine load
        new_t.append(cpu(lambda: match(ea, idx)))
        old_t.append(cpu(lambda: old_rule(ea, idx)))
    new, old = set(match(ea, idx)), set(old_rule(ea, idx))
    print(f"  per-place match: median {statistics.median(new_t) * 1000:.0f} ms CPU,"
          f" {len(new):,} reached")
    print(f"  alert-wide (old) baseline: median {statistics.median(old_t) * 1000:.0f} ms CPU,"
          f" {len(old):,} reached")
    print(f"  false alarms avoided: {len(old - new):,} (new ⊆ old: {new <= old})")

    places = places_of(ea)
    sample = rng.choice(n, 500, replace=False)
    subs = [Subscription(ids[i], "webpush", lat=float(lat[i]), lon=float(lon[i]),
                         radius_m=float(radius[i])) for i in sample]
    t = cpu(lambda: [touched(s, places) for s in subs])
    print(f"  Web Push: touched() per subscriber: {t / len(subs) * 1000:.2f} ms CPU"
          f" (mean of {len(subs)}; cached per change and place)")


if __name__ == "__main__":
    main()
