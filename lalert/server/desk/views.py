"""The desk's read model: what the templates show of an enriched alert, and each output's
delivery state for it (outbox record, push deliveries, or the bus cursor)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from markupsafe import Markup

from lalert.model import EnrichedAlert
from lalert.outputs import phrases
from lalert.server.desk import svgmap
from lalert.server.desk.formatting import NO_LEVEL_COLOUR, level_text
from lalert.server.desk.text import FORMATS, INFO_TYPES, SEVERITIES, STATUSES, kind_word, pick
from lalert.server.keys import CONFIG, OUTPUTS, PIPELINE, STORES
from lalert.vocab import LEVEL_COLOURS
from lalert.vocab import levels as level_vocab


def _areas(areas: Any, has_footprint: bool) -> list[dict[str, Any]]:
    """Areas once per name (a message often names one place under several code schemes);
    a place counts as unresolved only when none of its codes was found."""
    out: dict[str, dict[str, Any]] = {}
    for x in areas:
        label = x.name or x.code or "?"
        unresolved = bool(x.unresolved) or (x.geometry is None and not has_footprint)
        seen = out.get(label)
        codes = [f"{x.scheme}:{x.code}"] if x.code else []
        if seen is None:
            out[label] = {"name": label, "codes": codes, "unresolved": unresolved}
        else:
            seen["codes"].extend(codes)
            seen["unresolved"] = seen["unresolved"] and unresolved
    return list(out.values())


def alert_view(e: EnrichedAlert, drill: bool, lang: str, number: int = 0) -> dict[str, Any]:
    """What the templates show of one enriched alert."""
    a = e.alert
    lv = a.level if a.level in LEVEL_COLOURS else 0
    areas = e.active_areas()  # only places under alert (Area.status)
    return {
        "number": number, "id": a.id, "title": a.title, "headline": a.headline,
        "kind": a.kind, "kind_text": kind_word(a.kind, lang),
        "info_type_text": pick(INFO_TYPES, a.info_type, lang),
        "severity_text": pick(SEVERITIES, a.severity, lang) if a.severity else "",
        "status_text": pick(STATUSES, a.status, lang), "format": a.format, "level": a.level, "lv": lv,
        "format_text": pick(FORMATS, a.format, lang),
        "level_text": level_text(a.level, lang, a.kind, e.hazard_tags),
        "level_source": level_vocab.source(a.kind, a.level),
        "instruction": a.instruction, "severity": a.severity, "status": a.status,
        "drill": drill, "info_type": a.info_type, "issued_at": a.issued_at,
        "valid_until": a.valid_until, "publisher": a.publisher, "serial": a.serial,
        "event_id": a.event_id, "hazard_tags": list(e.hazard_tags),
        "hazard_text": [phrases.hazard_name(h, lang)
                        for h in e.hazard_tags],
        "areas": _areas(areas, e.footprint is not None),
        "shelters": [{"name": s.name, "distance_m": round(s.distance_m), "fits": s.fits_hazard,
                      "state": s.state, "inside": s.inside} for s in e.shelters[:8]],
        "colour": LEVEL_COLOURS.get(a.level or 0, NO_LEVEL_COLOUR),
        "footprint": e.footprint,
    }


def map_svg(views: list[dict[str, Any]], t: Callable[[str], str]) -> Markup:
    """The overview's SVG, marked safe here (svgmap escapes every label) rather than
    with ``|safe`` in a template."""
    items = [svgmap.MapItem(v["number"], v["footprint"], v["colour"],
                              f"{v['number']}. {v['level_text']} {v['title']}") for v in views]
    return Markup(svgmap.render(items, label=t("map"), empty_text=t("map.none")))


def _wants_drills(app: web.Application, output: Any) -> bool:
    return bool(app[CONFIG].output_config(output.name).get("drills")) or bool(
        getattr(output, "wants_drills", False))


PUSH_ORDER = ("dead", "retrying", "pending", "sent")


def push_states(app: web.Application, seqs: list[int]) -> dict[int, dict[str, dict[str, int]]]:
    """Per-subscriber deliveries of push outputs (webhook, Web Push, MQTT) by change seq."""
    if not seqs:
        return {}
    try:
        store = app[STORES].existing_push()
        return store.seq_states(seqs) if store is not None else {}
    except Exception:  # the console must render even if the push store is unreadable
        return {}


def summarise_push(counts: dict[str, int]) -> dict[str, str]:
    """One state for many subscribers' deliveries: the worst present, with the counts."""
    worst = next((s for s in PUSH_ORDER if counts.get(s)), "sent")
    return {"state": worst, "detail": "", "counts": dict(sorted(counts.items()))}


def delivery_status(app: web.Application, alert_id: str, drill: bool,
                    push: dict[int, dict[str, dict[str, int]]] | None = None,
                    ) -> list[dict[str, str]]:
    """Each output's state for an alert's current version.

    An outbox record (keyed by the change ``seq`` or the alert id) wins, then the push
    deliveries of that change (worst state first, with counts); otherwise the bus cursor
    says whether the output has handled the change yet.
    """
    p = app[PIPELINE]
    seq = p.view.seq_of(alert_id)
    cursors = p.bus.cursors()
    records: dict[str, dict[str, str]] = {}
    if seq is not None:
        records.update(p.outbox.status(str(seq)))
    records.update(p.outbox.status(alert_id))
    pushed = (push or {}).get(seq, {}) if seq is not None else {}
    out = []
    for o in app[OUTPUTS]:
        rec = records.get(o.name)
        counts = pushed.get(o.name)
        if rec is None and counts:
            rec = summarise_push(counts)
        tally: dict[str, int] = {}
        if rec is not None:
            state, detail = rec["state"], rec.get("detail", "")
            tally = rec.get("counts") or {}
        elif o.name not in cursors:
            state, detail = "stopped", ""
        elif drill and not _wants_drills(app, o):
            state, detail = "no_drills", ""
        elif seq is not None and cursors[o.name] >= seq:
            state, detail = "handled", ""
        else:
            state, detail = "queued", ""
        out.append({"output": o.name, "state": state, "detail": detail, "counts": tally})
    return out

