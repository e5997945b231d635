"""The one grammar of commands that read a home: ``--home``, ``--config``, ``--demo``, ``--db``.

- ``--home DIR``: the lalert home (journal, state, geo store, keys, exports); default
  ``$LALERT_HOME`` or ``./lalert-home``.
- ``--config FILE``: the TOML configuration. Without it (and without ``--demo``) a command
  uses the configuration the home was last run with: ``lalert run`` records it in
  ``<home>/lalert-run.json``, so ``lalert signage export DIR --home H`` after ``lalert run
  --demo --home H`` sees the same screens with no more flags.
- ``--demo``: the demo everywhere: its configuration (``lalert/demo/lalert.toml`` unless
  ``--config``), its hand-made geodata when the home has no geo store, and for ``run`` the
  example messages on the home's first start.
- ``--db FILE``: a geo store path (``lalert data import``); default ``[geo] path``, else
  ``<home>/geo.gpkg``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from lalert.config import DEFAULTS, Config, load_config

REMEMBERED = "lalert-run.json"
HOME_HELP = "lalert home: journal, state, geo store, keys, exports (default ./lalert-home)"
DEMO_HELP = ("the demo: its configuration (unless --config), its hand-made geodata when the "
             "home has no geo store, its example messages on a new home (run)")


def add_home_options(p: argparse.ArgumentParser, *, demo: bool = True, db: bool = False) -> None:
    """``--config``, ``--home`` (and ``--demo``, ``--db``) with the same words everywhere."""
    p.add_argument("--config", metavar="FILE", type=Path,
                   help="TOML configuration (default: the one the home was last run with)")
    p.add_argument("--home", metavar="DIR", type=Path, help=HOME_HELP)
    if demo:
        p.add_argument("--demo", action="store_true", help=DEMO_HELP)
    if db:
        p.add_argument("--db", metavar="FILE", type=Path,
                       help="geo store (default [geo] path, else <home>/geo.gpkg)")


def home_dir(args: argparse.Namespace) -> Path:
    """The home a command names: ``--home``, else ``$LALERT_HOME``, else the default."""
    home = getattr(args, "home", None) or os.environ.get("LALERT_HOME") or DEFAULTS["home"]
    return Path(home).expanduser()


def remembered(home: Path) -> dict[str, Any]:
    """What ``lalert run`` last ran this home with: ``{"config": path | None, "demo": bool}``."""
    try:
        data = json.loads((home / REMEMBERED).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remember(config: Config) -> None:
    """Record in the home the configuration ``lalert run`` was started with (the demo's own
    file is not recorded by path: it moves with the installed package)."""
    from lalert import resources
    from lalert.store.private import private_file

    path = config.config_file
    if path is not None and config.demo and path == resources.demo("lalert.toml").resolve():
        path = None
    entry = {"config": str(path) if path else None, "demo": bool(config.demo)}
    target = Path(config.home) / REMEMBERED
    tmp = private_file(target.with_suffix(".tmp"))  # 0600 like everything in the home
    tmp.write_text(json.dumps(entry) + "\n", "utf-8")
    tmp.replace(target)


def config_from_args(args: argparse.Namespace, **overrides: Any) -> Config:
    """The configuration a command runs with: ``--config`` / ``--demo`` when given, else
    what the home remembers, else the defaults; then ``LALERT_*``, then the flags."""
    from lalert import resources

    path: Path | None = getattr(args, "config", None)
    demo = bool(getattr(args, "demo", False))
    home = getattr(args, "home", None)
    if path is None and not demo:
        memo = remembered(home_dir(args))
        if memo:
            home = home_dir(args)  # the home it was found in, whatever the file says
            demo = bool(memo.get("demo"))
            if memo.get("config"):
                path = Path(memo["config"])
                if not path.is_file():
                    print(f"lalert: {home}/{REMEMBERED} names {path}, which is gone; "
                          "give --config", file=sys.stderr)
                    raise SystemExit(2)
    if path is None and demo:
        path = resources.demo("lalert.toml")
    return load_config(path, demo=demo,
                       overrides={"home": str(home) if home else None, **overrides})


def geo_store(args: argparse.Namespace, cfg: Config) -> Path:
    """The geo store path: ``--db``, else ``[geo] path``, else ``<home>/geo.gpkg``."""
    db = getattr(args, "db", None)
    return Path(db) if db else (cfg.geo_path or Path(cfg.home) / "geo.gpkg")


def geodata(args: argparse.Namespace, cfg: Config, *, fallback_demo: bool = False) -> Any:
    """The geo store's data; without one the demo's with ``--demo`` (or ``fallback_demo``,
    said on stderr), else None."""
    from lalert.geo.data import demo_geodata
    from lalert.geo.store import load_geodata

    path = geo_store(args, cfg)
    if path.is_file():
        return load_geodata(path)
    if getattr(args, "db", None):
        print(f"lalert: no geo store at {path}", file=sys.stderr)
        raise SystemExit(2)
    if cfg.demo:
        return demo_geodata()
    if fallback_demo:
        print(f"lalert: no geo store at {path}; using the hand-made demo gazetteer (熊本市 only)",
              file=sys.stderr)
        return demo_geodata()
    return None
