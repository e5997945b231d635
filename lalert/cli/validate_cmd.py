"""``lalert validate``: check messages against their format's rules, one line per problem."""

from __future__ import annotations

import argparse
import sys

from lalert.cli.inputs import iter_inputs
from lalert.parsers import DEFAULT_MAX_BYTES
from lalert.validate import is_valid, validate


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="check messages against CAP XSD / spec rules and JMA / Commons required elements",
        description="Validate JMA XML, L-Alert/Commons XML, CAP alerts and CAP feeds. Prints "
        "FILE:LINE: message per problem; exit 0 if every file is valid, 2 if any is not. "
        "CAP 1.2 is checked against OASIS's XSD shipped with lalert ($LALERT_CAP_XSD: another copy, "
        "or off).",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="file, directory or - for stdin")
    p.add_argument("-q", "--quiet", action="store_true", help="errors only (no warnings or notes)")
    p.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="size bound per message")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    invalid = total = 0
    for name, data in iter_inputs(args.files):
        total += 1
        if isinstance(data, OSError):
            print(f"{name}: cannot read: {data.strerror}")
            invalid += 1
            continue
        problems = validate(data, name, max_bytes=args.max_bytes)
        for p in problems:
            if args.quiet and p.severity != "error":
                continue
            print(p.format(name))
        if not is_valid(problems):
            invalid += 1
    print(f"{total - invalid} of {total} valid", file=sys.stderr)
    return 2 if invalid else 0
