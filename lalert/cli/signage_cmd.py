"""``lalert signage export DIR``: a static copy of every screen for nginx or a CDN."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from lalert.cli.home import add_home_options, config_from_args, geodata


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("signage", help="digital-signage pages",
                       description="Digital-signage pages (screens are set in the configuration).")
    ssub = p.add_subparsers(dest="signage_command", metavar="ACTION")
    e = ssub.add_parser("export", help="write every screen as static files",
                        description="Write {screen}.html, {screen}.{lang}.html, {screen}.json, "
                        "index.html and the assets to DIR, from the active alerts in the home's "
                        "state. Serve DIR with nginx or a CDN when the daemon is out of reach.")
    e.add_argument("dir", type=Path, metavar="DIR")
    add_home_options(e, db=True)
    e.set_defaults(func=run_export)
    p.set_defaults(func=lambda _a: p.print_help() or 1)


def _state(cfg: Any, geo: Any = None) -> Any:
    """The active set as the daemon would show it, rebuilt from the home's journal."""
    from lalert.snapshot import active_view

    return active_view(cfg, geo)


def signage_section(cfg: Any) -> dict[str, Any]:
    """``[signage]`` with ``[outputs.signage]`` over it (either place works)."""
    return {**cfg.section("signage"), **cfg.output_config("signage")}


def run_export(args: argparse.Namespace) -> int:
    from lalert.outputs.base import OutputContext
    from lalert.outputs.signage import SignageOutput, export_files
    from lalert.outputs.signage.export import export_all
    from lalert.outputs.signage.screens import ScreenConfigError

    cfg = config_from_args(args)
    section = signage_section(cfg)
    section.pop("export_dir", None)  # this command writes to DIR only
    out = SignageOutput()
    geo = geodata(args, cfg)
    ctx = OutputContext(name="signage", config=section, home=Path(cfg.home),
                        state=_state(cfg, geo), geo=geo, base_url=cfg.public_url)
    try:
        asyncio.run(out.start(ctx))
    except ScreenConfigError as exc:
        print(f"lalert: {exc}", file=sys.stderr)
        return 2
    if not out.screens():
        print("lalert: no screens configured ([[outputs.signage.screens]]; give --config, "
              "--demo, or a --home that `lalert run` has run)", file=sys.stderr)
        return 2
    written = export_all(export_files(out), args.dir)
    print(f"{len(out.screens())} screen(s) exported to {args.dir} ({len(written)} file(s) changed)")
    return 0
