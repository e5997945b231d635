"""``lalert where LAT LON``: the areas containing a point and the nearest fitting shelters."""

from __future__ import annotations

import argparse
import dataclasses
import json

from lalert.cli.home import add_home_options, config_from_args, geodata
from lalert.codec import plain
from lalert.config import Config
from lalert.geo.query import areas_at, hotspots_near, nearest_shelters
from lalert.geo.reports import ShelterBoard
from lalert.model import NearbyShelter
from lalert.vocab import AREA_SCHEMES, SHELTER_HAZARDS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("where", help="areas containing a point, nearest shelters per hazard",
                       description="Print the area of each code scheme containing LAT LON and the "
                       "nearest designated sites fit for each hazard.")
    p.add_argument("lat", type=float, metavar="LAT")
    p.add_argument("lon", type=float, metavar="LON")
    p.add_argument("--limit", type=int, default=3, help="sites per hazard")
    p.add_argument("--max-m", type=float, default=5000.0, help="search radius (metres)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    add_home_options(p, db=True)  # the home's 避難所情報 in force give the shelters' states
    p.set_defaults(func=run)


def _board(cfg: Config, geo) -> ShelterBoard:
    """The latest 避難所情報 per facility in the home (its journal replayed read-only)."""
    from lalert.snapshot import active_view

    return active_view(cfg, geo).board()


def _current(s: NearbyShelter, board: ShelterBoard) -> NearbyShelter:
    c = board.get(s.id)
    if c is None:
        return s
    return dataclasses.replace(s, state=c.state, crowding=c.crowding, head_count=c.report.head_count,
                               capacity=c.report.capacity if c.report.capacity is not None else s.capacity)


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    geo = geodata(args, cfg, fallback_demo=True)
    areas = areas_at(geo, lat=args.lat, lon=args.lon)
    order = {s: i for i, s in enumerate(AREA_SCHEMES)}
    areas.sort(key=lambda a: (order.get(a.scheme, 99), a.code or ""))
    board = _board(cfg, geo)
    per_hazard = {h: [_current(s, board) for s in nearest_shelters(
        geo, lat=args.lat, lon=args.lon, hazard=h, limit=args.limit, max_m=args.max_m)]
        for h in SHELTER_HAZARDS}
    wifi = hotspots_near(geo, lat=args.lat, lon=args.lon)
    if args.json:
        print(json.dumps({"lat": args.lat, "lon": args.lon, "areas": plain(areas),
                          "shelters": {h: plain(v) for h, v in per_hazard.items()},
                          "hotspots": plain(wifi)}, ensure_ascii=False))
        return 0
    print(f"{args.lat}, {args.lon}")
    if not areas:
        print("  (no loaded area contains this point)")
    for a in areas:
        print(f"  {a.scheme:<18} {a.code:<8} {a.name or ''}")
    for h, sites in per_hazard.items():
        print(f"{h} ({SHELTER_HAZARDS[h]}):")
        if not sites:
            print(f"    none within {args.max_m:.0f} m")
        for s in sites:
            c = board.get(s.id)
            status = c.status if c else "unknown"
            print(f"    {s.distance_m:>7.0f} m {s.bearing_deg:>5.0f}°  {s.name}  [{s.kind}]  {status}"
                  + (f" {s.head_count}/{s.capacity}" if c and s.head_count is not None else ""))
    if wifi:
        print("Wi-Fi:")
        for w in wifi:
            print(f"    {w.distance_m:>7.0f} m  {w.ssid}  {w.name}")
    return 0
