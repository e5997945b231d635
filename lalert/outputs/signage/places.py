"""The few geo look-ups signage needs, behind one seam.

``lalert.geo.query`` does the spatial work (nearest shelters fitting a hazard, hotspots near
a point); this module only adapts it to what ``content.build`` takes and finds a place by
id for the Wi-Fi landing page. Without geo data every function answers "nothing", and the
page falls back to the shelters the enrichment attached to each alert.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import Any

from lalert.model import NearbyHotspot, NearbyShelter
from lalert.outputs.signage.content import ShelterFinder

log = logging.getLogger(__name__)


def shelter_finder(geo: Any, states: dict[str, str] | None = None) -> ShelterFinder | None:
    if geo is None:
        return None
    try:
        from lalert.geo.query import nearest_shelters
    except ImportError:  # geo queries not installed: alerts' own shelters are used
        return None

    def find(
        lat: float, lon: float, *, hazard: str | None, open_only: bool, limit: int,
        hazards: Collection[str] = (),
    ) -> Sequence[NearbyShelter]:
        return nearest_shelters(
            geo, lat=lat, lon=lon, hazard=hazard, limit=limit, states=states,
            open_only=open_only, hazards=hazards,
        )

    return find


def hotspots_near(geo: Any, lat: float | None, lon: float | None) -> list[NearbyHotspot]:
    if geo is None or lat is None or lon is None:
        return []
    try:
        from lalert.geo.query import hotspots_near as query
    except ImportError:
        return []
    return list(query(geo, lat=lat, lon=lon, max_m=500.0))


def find_place(geo: Any, place_id: str) -> dict[str, Any] | None:
    """A shelter or hotspot by its id: ``{kind, id, name, lat, lon, ssid?, shelter_id?}``."""
    if geo is None:
        return None
    for kind, frame in (("shelter", getattr(geo, "shelters", None)),
                        ("hotspot", getattr(geo, "hotspots", None))):
        if frame is None or not len(frame) or "id" not in frame.columns:
            continue
        hit = frame[frame["id"].astype(str) == place_id]
        if not len(hit) and "source_ids" in frame.columns:  # an entry merged into a facility
            hit = frame[frame["source_ids"].map(lambda ids: place_id in ids)]
        if len(hit):
            row = hit.iloc[0]
            out = {
                "kind": kind,
                "id": str(row.get("id") or place_id),
                "name": str(row.get("name") or place_id),
                "lat": float(row["lat"]),
                "lon": float(row["lon"]),
            }
            if kind == "hotspot":
                out["ssid"] = str(row.get("ssid") or "") or None
                out["shelter_id"] = str(row.get("shelter_id") or "") or None
            return out
    return None
