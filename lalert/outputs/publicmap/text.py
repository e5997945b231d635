"""The text twin: the map's information as plain, fast, accessible HTML (no script)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from lalert import resources
from lalert.geo.reports import UNAVAILABLE, ShelterBoard, is_open, status_of
from lalert.model import EnrichedAlert
from lalert.outputs import phrases
from lalert.outputs.htmltext import bdi
from lalert.outputs.listing import RegionFilter, area_names, ordered
from lalert.outputs.public import shelter_board, status_label
from lalert.outputs.publicmap.data import place_labels, shelter_records

_ENV = Environment(loader=FileSystemLoader(resources.path("outputs", "publicmap", "templates")),
                   autoescape=select_autoescape(["html", "j2"]), trim_blocks=True,
                   lstrip_blocks=True)
_ENV.filters["bdi"] = bdi
SHELTERS_PER_ALERT = 5


def _alert_view(ea: EnrichedAlert, n: int, lang: str, board: ShelterBoard) -> dict[str, Any]:
    a = ea.alert
    label = (phrases.level_label(a.level, a.kind, ea.hazard_tags, lang)
             or phrases.grade_label(a.level, a.grade(), lang) or "")
    current = {s.id: board.get(s.id) for s in ea.shelters}
    status = {s.id: current[s.id].status if current[s.id] else status_of(s.state, s.crowding)
              for s in ea.shelters}
    shelters = [s for s in sorted(ea.shelters, key=lambda s: (not is_open(status[s.id]), s.distance_m))
                if s.fits_hazard is not False and status[s.id] not in UNAVAILABLE]
    headline = a.headline if a.headline and a.headline != a.title else None
    return {
        # a title that is the order's name ("避難指示") is already in the label
        "anchor": f"alert-{n}", "title": "" if label and a.title in label else a.title,
        "headline": headline,
        "text": unsaid(a.text, headline, a.instruction),
        # JMA's Headline often holds the advice already (＜とるべき措置＞): said once
        "instruction": unsaid(a.instruction, headline),
        "level": a.level, "level_text": label,
        "action": phrases.level_action(a.level, lang),
        "kind_name": phrases.kind_name(a.kind, lang), "issued_at": a.issued_at,
        "issued_local": phrases.local_time(a.issued_at),
        "publisher": a.publisher,
        "areas": area_names(ea.active_areas()),
        "place_levels": {name: label for name, (_rank, label) in place_labels(ea, lang).items()},
        "shelters": [{"name": s.name, "state": status_label(current[s.id], lang) if current[s.id]
                      else phrases.shelter_state(status[s.id], lang),
                      "hazards": [phrases.hazard_name(h, lang) for h in s.hazards],
                      "address": s.address, "capacity": s.capacity}
                     for s in shelters[:SHELTERS_PER_ALERT]],
    }


def unsaid(text: str | None, *said: str | None) -> str | None:
    """``text`` without the paragraphs the page already shows (headline, instruction):
    parsers keep them in ``text`` too, and a reader should meet each sentence once."""
    if not text:
        return None
    shown = [s for s in said if s]
    paras = [p for p in text.split("\n\n") if p.strip() and not any(p.strip() in s for s in shown)]
    return "\n\n".join(paras) or None


def render_text(alerts: Sequence[EnrichedAlert], geo: Any, *, lang: str, updated: str,
                region: RegionFilter | None = None, everything: bool = False) -> str:
    """The page: alerts covering the region (all when ``everything``), in the one order."""
    real = [a for a in alerts if a.alert.is_real]
    shown = region.apply(real, everything=everything) if region is not None else ordered(real)
    board = shelter_board(real)
    views = [_alert_view(ea, n, lang, board) for n, ea in enumerate(shown)]
    by_area: dict[str, list[dict[str, Any]]] = {}
    for v in views:
        for area in v["areas"]:  # each place with the level in force there
            by_area.setdefault(area, []).append(
                {**v, "level_text": v["place_levels"].get(area, v["level_text"])})
    open_shelters = [s for s in shelter_records(geo, real, lang) if s["open"]]
    # every reported shelter once, matched or not, placed or not, in its latest state
    reported = sorted(({"name": c.report.name, "registry": c.report.registry, "open": c.open,
                        "state_label": status_label(c, lang), "address": c.report.address}
                       for c in board.items()), key=lambda r: (not r["open"], r["name"]))
    return _ENV.get_template("text.html.j2").render(
        lang=lang, html_lang=phrases.HTML_LANG[lang], q=phrases.query_lang(lang),
        others=phrases.lang_links(lang), ui=phrases.ui(lang), updated=updated,
        updated_local=phrases.local_time(updated), everything=everything,
        alerts=views, by_area=sorted(by_area.items()), open_shelters=open_shelters,
        reported=reported)
