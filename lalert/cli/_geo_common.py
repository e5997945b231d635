"""Choosing the GeoData for CLI commands: ``--db``, else the default store, else the demo."""

from __future__ import annotations

import sys
from pathlib import Path

from lalert.geo.data import GeoData, demo_geodata
from lalert.geo.store import default_db, load_geodata


def geo_for(db: Path | None) -> GeoData:
    if db is not None:
        return load_geodata(db)
    path = default_db()
    if path.is_file():
        return load_geodata(path)
    print("lalert: no geo store; using the hand-made demo gazetteer (熊本市 only)", file=sys.stderr)
    return demo_geodata()
