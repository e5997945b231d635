"""The text twin: the map's information as plain, fast, accessible HTML (no script)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from lalert.model import EnrichedAlert
from lalert.outputs import phrases
from lalert.outputs.htmltext import bdi
from lalert.outputs.publicmap.data import CLOSED_STATES, shelter_records

_ENV = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                   autoescape=select_autoescape(["html", "j2"]), trim_blocks=True,
                   lstrip_blocks=True)
_ENV.filters["bdi"] = bdi
SHELTERS_PER_ALERT = 5


def _alert_view(ea: EnrichedAlert, n: int, lang: str) -> dict[str, Any]:
    a = ea.alert
    word = phrases.level_word(a.level, lang)
    ui = phrases.UI[lang]
    sep, dash = (" ", " — ") if lang == "en" else ("", " ")
    level_text = f"{ui['level']}{sep}{a.level}" + (f"{dash}{word}" if word else "") if a.level else ""
    shelters = [s for s in sorted(ea.shelters, key=lambda s: s.distance_m)
                if s.fits_hazard is not False and s.state not in CLOSED_STATES]
    return {
        "anchor": f"alert-{n}", "title": "" if a.title == word else a.title, "headline": a.headline, "text": a.text,
        "level": a.level, "level_text": level_text,
        "action": phrases.level_action(a.level, lang),
        "kind_name": phrases.kind_name(a.kind, lang), "issued_at": a.issued_at,
        "issued_local": phrases.local_time(a.issued_at),
        "publisher": a.publisher,
        "areas": [ar.name or ar.code for ar in ea.active_areas() if ar.name or ar.code],
        "shelters": [{"name": s.name, "state": phrases.shelter_state(s.state, lang),
                      "hazards": [phrases.hazard_name(h, lang) for h in s.hazards],
                      "address": s.address, "capacity": s.capacity}
                     for s in shelters[:SHELTERS_PER_ALERT]],
    }


def render_text(alerts: Sequence[EnrichedAlert], geo: Any, *, lang: str, updated: str) -> str:
    real = sorted((a for a in alerts if a.alert.is_real),
                  key=lambda ea: -(ea.alert.level or 0))
    views = [_alert_view(ea, n, lang) for n, ea in enumerate(real)]
    by_area: dict[str, list[dict[str, Any]]] = {}
    for v in views:
        for area in v["areas"]:
            by_area.setdefault(area, []).append(v)
    open_shelters = [s for s in shelter_records(geo, real, lang) if s["open"]]
    return _ENV.get_template("text.html.j2").render(
        lang=lang, other="en" if lang == "ja" else "ja", ui=phrases.UI[lang], updated=updated,
        updated_local=phrases.local_time(updated),
        alerts=views, by_area=sorted(by_area.items()), open_shelters=open_shelters)
