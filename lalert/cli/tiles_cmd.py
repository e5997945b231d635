"""``lalert tiles export``: the vector tiles as one PMTiles file or z/x/y files for nginx/CDN."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from lalert.cli.home import add_home_options, config_from_args, geodata


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tiles", help="vector tiles (alerts, shelters, hotspots, boundaries)",
                       description="Vector tiles of the active alerts and the geo data.")
    tsub = p.add_subparsers(dest="tiles_command", metavar="ACTION")
    e = tsub.add_parser(
        "export", help="write the tiles as PMTiles or a z/x/y directory",
        description="Cut every tile over the data's bounds from the home's active alerts and "
        "geo data, and write FILE.pmtiles or (with --dir) DIR/z/x/y.mvt plus DIR/tiles.json.")
    e.add_argument("file", nargs="?", type=Path, metavar="FILE.pmtiles")
    e.add_argument("--dir", type=Path, help="write z/x/y.mvt files here instead")
    add_home_options(e, db=True)
    e.add_argument("--minzoom", type=int, default=None, help="default: [outputs.tiles] or 4")
    e.add_argument("--maxzoom", type=int, default=None, help="default: 12 (14 is ~16x more)")
    e.add_argument("--base-url", default="", help="URL prefix written in DIR/tiles.json")
    e.set_defaults(func=run_export)
    p.set_defaults(func=lambda _a: p.print_help() or 1)


def run_export(args: argparse.Namespace) -> int:
    # The home's committed state and geo data, read the way `lalert signage export` does.
    from lalert.cli.signage_cmd import _state
    from lalert.outputs.tiles.build import MUNICIPALITY_SCHEMES, TileSource
    from lalert.outputs.tiles.export import export_dir, export_pmtiles

    if (args.file is None) == (args.dir is None):
        print("lalert: give either FILE.pmtiles or --dir DIR", file=sys.stderr)
        return 2
    cfg = config_from_args(args)
    section = cfg.output_config("tiles")
    minzoom = args.minzoom if args.minzoom is not None else int(section.get("minzoom", 4))
    maxzoom = args.maxzoom if args.maxzoom is not None else min(int(section.get("maxzoom", 12)), 12)
    if not 0 <= minzoom <= maxzoom <= 22:
        print("lalert: need 0 <= minzoom <= maxzoom <= 22", file=sys.stderr)
        return 2
    geo = geodata(args, cfg)
    state = _state(cfg, geo)
    t0 = time.perf_counter()
    source = TileSource.build(state.active(), geo,
                              tuple(section.get("municipality_schemes", MUNICIPALITY_SCHEMES)))
    try:
        if args.dir is not None:
            n = export_dir(source, args.dir, minzoom=minzoom, maxzoom=maxzoom,
                           base_url=args.base_url)
            where = f"{args.dir}/{{z}}/{{x}}/{{y}}.mvt"
        else:
            n = export_pmtiles(source, args.file, minzoom=minzoom, maxzoom=maxzoom)
            where = str(args.file)
    except ValueError as exc:
        print(f"lalert: {exc}", file=sys.stderr)
        return 2
    print(f"{n} tile(s), z{minzoom}-{maxzoom}, {len(state.active())} alert(s) → {where} "
          f"({time.perf_counter() - t0:.1f} s)")
    return 0
