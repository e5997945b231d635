"""``lalert`` command line. Each subcommand lives in its own module here and
registers itself through ``register(subparsers)``; this file only assembles them."""

from __future__ import annotations

import argparse
import importlib
import sys

# Subcommand modules, in the order `lalert --help` lists them. A module that is not
# there yet (a part still being built) is skipped rather than breaking the CLI.
COMMANDS = ("parse", "validate", "data", "enrich", "where", "run", "replay", "signage", "tiles", "worker", "export")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lalert",
        description="Disaster-alert geospatial dissemination: L-Alert / JMA XML / CAP in; "
        "maps, signage, feeds and push out.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"lalert.cli.{name}_cmd")
        except ModuleNotFoundError as exc:
            if exc.name == f"lalert.cli.{name}_cmd":
                continue
            raise
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
