"""``lalert enrich``: parse messages and print them with geometry, shelters and hotspots."""

from __future__ import annotations

import argparse
import sys

from lalert.cli.home import add_home_options, config_from_args, geodata
from lalert.cli.inputs import ParsedInputs
from lalert.geo.enrich import EnrichConfig, enrich
from lalert.model import EnrichedAlert
from lalert.parsers import DEFAULT_MAX_BYTES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("enrich", help="parse messages and add areas' polygons, shelters, hotspots",
                       description="Parse JMA XML, L-Alert/Commons XML or CAP files (or - for stdin) "
                       "and print each alert enriched with geometry as JSON Lines. Bad files are "
                       "reported on stderr; exit 2 if any was rejected.")
    p.add_argument("files", nargs="+", metavar="FILE", help="file, directory or - for stdin")
    add_home_options(p, db=True)
    p.add_argument("--json", action="store_true", help="JSON Lines (the default output)")
    p.add_argument("--summary", action="store_true", help="one human-readable line per alert instead")
    p.add_argument("--buffer-m", type=float, default=EnrichConfig.shelter_buffer_m,
                   help="list sites this close outside the footprint (metres)")
    p.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="size bound per message")
    p.set_defaults(func=run)


def summary(e: EnrichedAlert) -> str:
    unresolved = sum(1 for a in e.areas if a.geometry is None)
    fit = sum(1 for s in e.shelters if s.fits_hazard)
    return (f"{e.alert.issued_at}  {e.alert.kind:<16} {e.alert.title}\n"
            f"    areas {len(e.areas)} (unresolved {unresolved}) bbox={e.bbox} hazards={','.join(e.hazard_tags)}"
            f" shelters {len(e.shelters)} (fitting {fit}) hotspots {len(e.hotspots)}")


def run(args: argparse.Namespace) -> int:
    geo = geodata(args, config_from_args(args), fallback_demo=True)
    cfg = EnrichConfig(shelter_buffer_m=args.buffer_m)
    inputs = ParsedInputs(args.files, max_bytes=args.max_bytes)
    for _name, alerts in inputs:
        for a in alerts:
            e = enrich(a, geo, config=cfg)
            sys.stdout.write((summary(e) if args.summary else e.to_json()) + "\n")
    return inputs.exit_status
