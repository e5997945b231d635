"""The desk's "this reported shelter is facility X" links, journaled in the home.

``<home>/shelter_links.jsonl`` is append-only: one JSON line per decision (who, when, the
municipality, the name as reported, the facility), fsynced before the desk answers. The
latest line for a (municipality, name key) wins; linking to ``""`` removes a link. The
links are applied to reports enriched after the decision (``GeoData.shelter_links``), so
the record of what a report said is never rewritten.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lalert.geo.match import link_key

LINKS_FILE = "shelter_links.jsonl"


def load_links(home: str | Path) -> dict[tuple[str, str], str]:
    """(municipality, name key) → facility id, from the journal of decisions."""
    out: dict[tuple[str, str], str] = {}
    for entry in history(home):
        key = link_key(entry.get("municipality"), str(entry.get("name", "")))
        fid = str(entry.get("facility_id") or "")
        if fid:
            out[key] = fid
        else:
            out.pop(key, None)
    return out


def history(home: str | Path) -> list[dict[str, Any]]:
    path = Path(home) / LINKS_FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line after a crash: the decision was never confirmed
        if isinstance(entry, dict):
            out.append(entry)
    return out


def append_link(home: str | Path, *, municipality: str, name: str, facility_id: str,
                facility_name: str, by: str | None) -> dict[str, Any]:
    """Journal one decision durably and return it."""
    entry = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "by": by,
             "municipality": municipality, "name": name, "facility_id": facility_id,
             "facility_name": facility_name}
    path = Path(home) / LINKS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return entry
