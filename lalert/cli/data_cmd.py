"""``lalert data import``: load official open data into the geo store."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from lalert.cli.home import add_home_options, config_from_args, geo_store
from lalert.geo.store import import_sources, load_store


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="import official geo data (N03, JMA areas, shelters, Wi-Fi)",
                       description="Manage the geo store (one GeoPackage file).")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION")
    imp = dsub.add_parser("import", help="import files or directories, recognised by content",
                          description="Import N03 boundaries (GeoJSON, TopoJSON, Shapefile, GeoPackage), "
                          "JMA area tables and polygons, GSI / 自治体標準オープンデータセット shelters and "
                          "公衆無線LAN hotspots. Each file is recognised by its content; re-importing "
                          "the same file changes nothing; a newer file replaces the data of the same "
                          "source. Bad rows are listed with line numbers. Exit 2 if a file was rejected.")
    imp.add_argument("sources", nargs="+", metavar="SOURCE", help="file or directory")
    add_home_options(imp, demo=False, db=True)
    imp.add_argument("--quiet", action="store_true", help="only the summary")
    imp.set_defaults(func=run_import)
    info = dsub.add_parser("info", help="what the store holds",
                           description="Count the areas per code scheme, shelters, hotspots and "
                           "JMA codes in the geo store.")
    add_home_options(info, demo=False, db=True)
    info.set_defaults(func=run_info)
    p.set_defaults(func=lambda _a: (p.print_help(), 1)[1])


def run_import(args: argparse.Namespace) -> int:
    db = geo_store(args, config_from_args(args))
    say = (lambda _m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    report = import_sources(db, args.sources, say=say, progress=not args.quiet)
    counts: dict[str, int] = {}
    for f in report.files:
        counts[f.action] = counts.get(f.action, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    print(f"{db}: {len(report.files)} sources ({summary}); {report.rows} rows imported, "
          f"{report.bad_rows} bad rows")
    return 2 if report.errors else 0


def run_info(args: argparse.Namespace) -> int:
    db = geo_store(args, config_from_args(args))
    try:
        geo = load_store(db)
    except FileNotFoundError as exc:
        print(f"lalert: {exc}", file=sys.stderr)
        return 1
    print(f"{db}")
    for scheme, n in geo.areas["scheme"].value_counts().sort_index().items():
        print(f"  areas {scheme:<18} {n}")
    s = geo.shelters
    entries = sum(len(x) for x in s["source_ids"]) if "source_ids" in s else len(s)
    print(f"  shelters {len(s)} facilities ({entries} list entries)  hotspots {len(geo.hotspots)}"
          f"  jma codes {len(geo.jma_codes)}")
    if "roles" in s and len(s):
        roles = pd.Series([r for rs in s["roles"] for r in rs]).value_counts()
        print("    roles " + "  ".join(f"{k} {v}" for k, v in roles.sort_index().items()))
    return 0
