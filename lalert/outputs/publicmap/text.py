"""The text twin: the map's information as plain, fast, accessible HTML (no script)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from lalert.geo.reports import ShelterBoard, status_of
from lalert.model import EnrichedAlert
from lalert.outputs import phrases
from lalert.outputs.htmltext import bdi
from lalert.outputs.public import is_open, shelter_board, status_label
from lalert.outputs.publicmap.data import CLOSED_STATES, shelter_records

_ENV = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                   autoescape=select_autoescape(["html", "j2"]), trim_blocks=True,
                   lstrip_blocks=True)
_ENV.filters["bdi"] = bdi
SHELTERS_PER_ALERT = 5


def _alert_view(ea: EnrichedAlert, n: int, lang: str, board: ShelterBoard) -> dict[str, Any]:
    a = ea.alert
    word = phrases.level_word(a.level, lang)
    ui = phrases.UI[lang]
    sep, dash = (" ", " — ") if lang == "en" else ("", " ")
    level_text = f"{ui['level']}{sep}{a.level}" + (f"{dash}{word}" if word else "") if a.level else ""
    current = {s.id: board.get(s.id) for s in ea.shelters}
    status = {s.id: current[s.id].status if current[s.id] else status_of(s.state, s.crowding)
              for s in ea.shelters}
    shelters = [s for s in sorted(ea.shelters, key=lambda s: (not is_open(status[s.id]), s.distance_m))
                if s.fits_hazard is not False and status[s.id] not in CLOSED_STATES
                and status[s.id] != "full"]
    return {
        "anchor": f"alert-{n}", "title": "" if a.title == word else a.title, "headline": a.headline, "text": a.text,
        "level": a.level, "level_text": level_text,
        "action": phrases.level_action(a.level, lang),
        "kind_name": phrases.kind_name(a.kind, lang), "issued_at": a.issued_at,
        "issued_local": phrases.local_time(a.issued_at),
        "publisher": a.publisher,
        "areas": [ar.name or ar.code for ar in ea.active_areas() if ar.name or ar.code],
        "shelters": [{"name": s.name, "state": status_label(current[s.id], lang) if current[s.id]
                      else phrases.shelter_state(status[s.id], lang),
                      "hazards": [phrases.hazard_name(h, lang) for h in s.hazards],
                      "address": s.address, "capacity": s.capacity}
                     for s in shelters[:SHELTERS_PER_ALERT]],
    }


def render_text(alerts: Sequence[EnrichedAlert], geo: Any, *, lang: str, updated: str) -> str:
    real = sorted((a for a in alerts if a.alert.is_real),
                  key=lambda ea: -(ea.alert.level or 0))
    board = shelter_board(real)
    views = [_alert_view(ea, n, lang, board) for n, ea in enumerate(real)]
    by_area: dict[str, list[dict[str, Any]]] = {}
    for v in views:
        for area in v["areas"]:
            by_area.setdefault(area, []).append(v)
    open_shelters = [s for s in shelter_records(geo, real, lang) if s["open"]]
    # every reported shelter once, matched or not, placed or not, in its latest state
    reported = sorted(({"name": c.report.name, "registry": c.report.registry, "open": c.open,
                        "state_label": status_label(c, lang), "address": c.report.address}
                       for c in board.items()), key=lambda r: (not r["open"], r["name"]))
    return _ENV.get_template("text.html.j2").render(
        lang=lang, other="en" if lang == "ja" else "ja", ui=phrases.UI[lang], updated=updated,
        updated_local=phrases.local_time(updated),
        alerts=views, by_area=sorted(by_area.items()), open_shelters=open_shelters,
        reported=reported)
