"""``lalert parse``: print what lalert reads from each message."""

from __future__ import annotations

import argparse
import sys

from lalert.cli.inputs import ParsedInputs
from lalert.codec import alert_json
from lalert.model import Alert
from lalert.parsers import DEFAULT_MAX_BYTES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("parse", help="read messages and print the normalised alerts",
                       description="Parse JMA XML, L-Alert/Commons XML or CAP files (or - for stdin). "
                       "Bad files are reported on stderr; exit 2 if any was rejected.")
    p.add_argument("files", nargs="+", metavar="FILE", help="file, directory or - for stdin")
    p.add_argument("--json", action="store_true", help="one JSON object per alert per line")
    p.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="size bound per message")
    p.set_defaults(func=run)


def summary(a: Alert) -> str:
    lvl = f" L{a.level}" if a.level else ""
    areas = ", ".join(x.name or x.code or "?" for x in a.areas[:6])
    more = f" (+{len(a.areas) - 6})" if len(a.areas) > 6 else ""
    status = "" if a.status == "actual" else f" [{a.status.upper()}]"
    return (f"{a.issued_at}  {a.format:<7} {a.kind:<16} {a.info_type:<10}{lvl}{status}  {a.title}\n"
            f"    id={a.id} event={a.event_id} serial={a.serial} areas: {areas}{more}")


def run(args: argparse.Namespace) -> int:
    inputs = ParsedInputs(args.files, max_bytes=args.max_bytes)
    if args.json:
        # The codec's UTF-8 bytes go straight to the byte stream: decoding them to text
        # only for the text layer to encode them again cost a tenth of a corpus run.
        out = getattr(sys.stdout, "buffer", None)
        for _name, alerts in inputs:
            for a in alerts:
                if out is None:
                    sys.stdout.write(a.to_json() + "\n")
                else:
                    out.write(alert_json(a) + b"\n")
        return inputs.exit_status
    for _name, alerts in inputs:
        for a in alerts:
            sys.stdout.write(summary(a) + "\n")
    return inputs.exit_status
