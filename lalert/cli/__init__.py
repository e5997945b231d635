"""``lalert`` command line. Each subcommand lives in its own module here and
registers itself through ``register(subparsers)``; this file only assembles them.

Modules are imported lazily: ``lalert parse`` imports ``parse_cmd`` and nothing else, so
a command never pays for the geo stack (geopandas, shapely, pyproj), the web server or
the database drivers that other commands need. Only ``lalert --help`` (or a misspelt
command) imports them all, to list them."""

from __future__ import annotations

import argparse
import importlib
import sys

# Subcommand modules, in the order `lalert --help` lists them. A module that is not
# there yet (a part still being built) is skipped rather than breaking the CLI.
COMMANDS = ("parse", "validate", "data", "enrich", "where", "run", "replay", "signage", "tiles", "worker", "export")


def _chosen(argv: list[str]) -> str | None:
    """The subcommand ``argv`` names, if any: the top-level parser takes no option but
    ``-h``, so the command is the first argument."""
    return argv[0] if argv and argv[0] in COMMANDS else None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser with every subcommand, or only the one ``argv`` names."""
    parser = argparse.ArgumentParser(
        prog="lalert",
        description="Disaster-alert geospatial dissemination: L-Alert / JMA XML / CAP in; "
        "maps, signage, feeds and push out.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = _chosen(argv) if argv is not None else None
    for name in (chosen,) if chosen else COMMANDS:
        try:
            mod = importlib.import_module(f"lalert.cli.{name}_cmd")
        except ModuleNotFoundError as exc:
            if exc.name == f"lalert.cli.{name}_cmd":
                continue
            raise
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
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
