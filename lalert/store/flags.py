"""Operator settings kept in the home: the 00000JAPAN declaration and the desk's screens.

The desk console changes these at run time; signage (and anything else that cares)
reads them through ``OutputContext.settings`` under the keys below, which the desk fills
from here at start and after every change. Two small JSON files, each replaced
atomically (write, fsync, rename), so a crash leaves either the old or the new version:

- ``<home>/flags.json``   ``{"wifi_00000japan": {"value": true, "by": "...", "at": "..."}}``
- ``<home>/screens.json`` the full list of screen tables (the TOML ``[[signage.screens]]``
  shape); absent until an operator edits screens, so configuration stays in charge.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lalert.store.private import private_dir

FLAGS_FILE = "flags.json"
SCREENS_FILE = "screens.json"

JAPAN = "wifi_00000japan"
"""00000JAPAN (the carriers' free disaster Wi-Fi) declared open; key shared with signage."""
SCREENS = "signage.screens"
"""The desk-edited screen list; key shared with signage (``SETTINGS_SCREENS``)."""


def _write_json(path: Path, data: Any) -> None:
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default


def load_flags(home: Path) -> dict[str, dict[str, Any]]:
    """Every flag with who set it and when."""
    data = _read_json(Path(home) / FLAGS_FILE, {})
    return data if isinstance(data, dict) else {}


def flag(home: Path, name: str, default: bool = False) -> bool:
    entry = load_flags(home).get(name)
    return bool(entry.get("value")) if isinstance(entry, dict) else default


def set_flag(home: Path, name: str, value: bool, *, by: str) -> dict[str, Any]:
    flags = load_flags(home)
    entry = {"value": bool(value), "by": by, "at": datetime.now(UTC).isoformat(timespec="seconds")}
    flags[name] = entry
    _write_json(Path(home) / FLAGS_FILE, flags)
    return entry


def japan_open(home: Path) -> bool:
    """Has the desk declared 00000JAPAN open?"""
    return flag(home, JAPAN)


def load_screens(home: Path) -> list[dict[str, Any]] | None:
    """The desk's screen list, or None when operators never edited screens."""
    data = _read_json(Path(home) / SCREENS_FILE, None)
    return data if isinstance(data, list) else None


def save_screens(home: Path, screens: list[dict[str, Any]]) -> None:
    _write_json(Path(home) / SCREENS_FILE, screens)


def output_settings(home: Path) -> dict[str, Any]:
    """What outputs see in ``OutputContext.settings`` from the home (only what is set)."""
    out: dict[str, Any] = {}
    flags = load_flags(home)
    if JAPAN in flags:
        out[JAPAN] = bool(flags[JAPAN].get("value"))
    screens = load_screens(home)
    if screens is not None:
        out[SCREENS] = screens
    return out
