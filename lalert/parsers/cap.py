"""CAP 1.2 (and 1.1 / 1.0) → ``Alert``.

Accepts a single ``alert``; an Atom ``feed`` or RSS ``rss`` whose entries inline CAP
alerts; an EDXL-DE distribution around CAP; and a SOAP envelope around any of these.
Feeds that only *link* to alerts carry no alert: the parser says so and the poller
fetches the links (the parser never touches the network).

CAP writes coordinates as ``lat,lon``; GeoJSON wants ``[lon, lat]``. The swap happens
in one place (``_polygon``).
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from lalert.model import Alert, Area, Hazard
from lalert.parsers.common import circle_polygon, circle_radius_m, iso, sha256, zen2han
from lalert.parsers.detect import CAP_NS
from lalert.parsers.xmlsafe import ParseError, child, children, local, ns, path_text, text
from lalert.vocab import KINDS, SEVERITY_ORDER
from lalert.vocab import cap as vcap


def parse_tree(root: etree._Element, *, raw: bytes, source: str) -> list[Alert]:
    """Every CAP alert the document carries (inline), or ParseError naming what is missing."""
    alerts = find_alerts(root, source=source)
    digest = sha256(raw)
    return [_alert(a, digest=digest, source=source) for a in alerts]


# --- locating alerts ----------------------------------------------------------------


def _is_cap(el: etree._Element) -> bool:
    return isinstance(el.tag, str) and local(el.tag) == "alert" and ns(el.tag) in CAP_NS


def feed_entries(root: etree._Element) -> list[etree._Element]:
    """Atom entries / RSS items (RSS 1.0 ``RDF`` items too) of a feed root."""
    name = local(root.tag)
    if name == "feed":
        return children(root, "entry")
    if name == "rss":
        return children(child(root, "channel"), "item")
    if name == "RDF":
        return children(root, "item")
    return []


def entry_link(entry: etree._Element) -> str | None:
    """The alert URL of a feed entry: Atom link (CAP-typed first, then alternate / none,
    then any) or RSS ``link``."""
    links = children(entry, "link")
    for want in ("application/cap+xml", None):
        for link in links:
            href = link.get("href") or text(link)
            if href and (want is None or link.get("type") == want):
                return href
    return None


def find_alerts(root: etree._Element, *, source: str) -> list[etree._Element]:
    """The CAP ``alert`` elements a document delivers (feeds: only those inside entries)."""
    if _is_cap(root):
        return [root]
    name = local(root.tag)
    if name == "Envelope":
        body = child(root, "Body")
        inner = next((e for e in body.iter() if e is not body and isinstance(e.tag, str)
                      and (local(e.tag) in ("feed", "rss", "RDF", "EDXLDistribution")
                           or _is_cap(e))), None) if body is not None else None
        if inner is None:
            raise ParseError("SOAP envelope carries no CAP alert", source=source,
                             line=root.sourceline)
        return find_alerts(inner, source=source)
    if name in ("feed", "rss", "RDF"):
        entries = feed_entries(root)
        found = [a for e in entries for a in e.iter() if _is_cap(a)]
        if found:
            return found
        stray = [a for a in root.iter() if _is_cap(a)]
        if not entries:
            extra = (f"; {len(stray)} CAP alert(s) sit outside any entry and are not delivered"
                     if stray else "")
            raise ParseError(f"feed holds no entries{extra}", source=source, line=root.sourceline)
        linked = [e for e in entries if entry_link(e)]
        if not linked:
            raise ParseError(f"feed has {len(entries)} entries with neither an inline alert "
                             "nor a link", source=source, line=root.sourceline)
        raise ParseError(
            f"feed holds links to {len(linked)} alerts but inlines none; fetch them",
            source=source,
            line=root.sourceline,
        )
    found = [a for a in root.iter() if _is_cap(a)]
    if not found:
        raise ParseError(f"<{name}> carries no CAP alert", source=source, line=root.sourceline)
    return found


# --- one alert ----------------------------------------------------------------------


def _req(el: etree._Element, name: str, source: str) -> str:
    value = path_text(el, name)
    if not value:
        raise ParseError(f"CAP <alert> lacks required <{name}>", source=source, line=el.sourceline)
    return value


def _when(el: etree._Element, name: str, source: str) -> str | None:
    c = child(el, name)
    value = text(c)
    if not value:
        return None
    try:
        return iso(value)
    except ValueError:
        raise ParseError(f"bad <{name}> {value!r}: not an ISO 8601 date-time", source=source,
                         line=c.sourceline) from None


def language_tag(value: str | None) -> str:
    """CAP language → lalert language: lower-case, region dropped (``ja-JP`` → ``ja``),
    script kept (``zh-Hant-TW`` → ``zh-hant``). CAP's default is ``en-US``."""
    parts = (value or "en-US").strip().lower().split("-")
    keep = [parts[0]] + [p for p in parts[1:] if len(p) == 4 and p.isalpha()]
    return "-".join(keep)


def _alert(el: etree._Element, *, digest: str, source: str) -> Alert:
    identifier = _req(el, "identifier", source)
    sender = _req(el, "sender", source)
    sent = _when(el, "sent", source)
    if sent is None:
        raise ParseError("CAP <alert> lacks required <sent>", source=source, line=el.sourceline)
    status_word = _req(el, "status", source)
    status = status_word.lower()
    if status not in ("actual", "exercise", "test", "system", "draft"):
        raise ParseError(f"unknown CAP status {status_word!r}", source=source,
                         line=child(el, "status").sourceline)
    msg_type = _req(el, "msgType", source)
    info_type = vcap.MSG_TYPES.get(msg_type)
    if info_type is None:
        raise ParseError(f"unknown CAP msgType {msg_type!r}", source=source,
                         line=child(el, "msgType").sourceline)
    references = tuple((path_text(el, "references") or "").split())
    event_id = identifier
    if references and info_type in ("update", "cancel"):
        triplet = references[0].split(",")
        if len(triplet) >= 2 and triplet[1]:
            event_id = triplet[1]

    infos = children(el, "info")
    first = infos[0] if infos else None
    primary_lang = language_tag(path_text(first, "language")) if first is not None else "en"
    primary = [i for i in infos if language_tag(path_text(i, "language")) == primary_lang]

    severity = max(
        (path_text(i, "severity") or "Unknown" for i in infos),
        key=lambda s: SEVERITY_ORDER.get(s, 0),
        default="Unknown",
    )
    if severity not in SEVERITY_ORDER:
        severity = "Unknown"
    expires = [x for x in (_when(i, "expires", source) for i in infos) if x]

    kind = vcap.kind_for(path_text(first, "category"), path_text(first, "event")) if first is not None else "general"
    for p in children(first, "parameter") if first is not None else ():
        # lalert's own CAP (lalert.outputs.feeds) names the kind exactly: a relay keeps it
        if path_text(p, "valueName") == "lalert:kind" and path_text(p, "value") in KINDS:
            kind = path_text(p, "value") or kind
    title = (path_text(first, "event") if first is not None else None) or (
        path_text(el, "note") or f"CAP {msg_type} from {sender}"
    )

    return Alert(
        format="cap",
        id=identifier,
        event_id=event_id,
        serial=None,
        info_type=info_type,
        status=status,
        kind=kind,
        title=title,
        headline=path_text(first, "headline") if first is not None else None,
        text=_text(first),
        instruction=(path_text(first, "instruction") or None) if first is not None else None,
        issued_at=sent,
        valid_until=max(expires) if expires else None,
        publisher=(path_text(first, "senderName") if first is not None else None) or sender,
        language=primary_lang,
        level=_level(infos),
        severity=severity,
        areas=_areas(primary or infos, source),
        hazards=_hazards(primary, cancelled=info_type == "cancel", source=source),
        references=references,
        translations=tuple(_translation(i) for i in infos if i not in primary),
        raw_sha256=digest,
        details=_details(el, first, sender),
    )


def _text(info: etree._Element | None) -> str | None:
    parts = [path_text(info, "description"), path_text(info, "instruction")]
    return "\n\n".join(p for p in parts if p) or None


def _translation(info: etree._Element) -> dict[str, Any]:
    return {
        "language": language_tag(path_text(info, "language")),
        "title": path_text(info, "event"),
        "event": path_text(info, "event"),
        "headline": path_text(info, "headline"),
        "text": _text(info),
        "instruction": path_text(info, "instruction"),
    }


def _level(infos: list[etree._Element]) -> int | None:
    levels = []
    for info in infos:
        for p in children(info, "parameter"):
            if path_text(p, "valueName") in vcap.LEVEL_PARAMETERS:
                m = re.search(r"[1-5]", zen2han(path_text(p, "value") or ""))
                if m:
                    levels.append(int(m.group()))
    return max(levels, default=None)


def _details(el: etree._Element, first: etree._Element | None, sender: str) -> dict[str, Any]:
    d: dict[str, Any] = {"sender": sender}
    for name in ("scope", "source", "note", "incidents", "restriction"):
        v = path_text(el, name)
        if v:
            d[name] = v
    codes = [text(c) for c in children(el, "code") if text(c)]
    if codes:
        d["codes"] = codes
    if first is not None:
        for name in ("urgency", "certainty", "responseType", "web", "contact"):
            v = path_text(first, name)
            if v:
                d[name] = v
        d["categories"] = [text(c) for c in children(first, "category") if text(c)]
        d["event_codes"] = [
            {"name": path_text(c, "valueName"), "value": path_text(c, "value")}
            for c in children(first, "eventCode")
        ]
        d["parameters"] = [
            {"name": path_text(c, "valueName"), "value": path_text(c, "value")}
            for c in children(first, "parameter")
        ]
    return d


# --- areas and hazards ----------------------------------------------------------------


def _pairs(value: str, el: etree._Element, source: str) -> list[list[float]]:
    """``"lat,lon lat,lon …"`` → ``[[lon, lat], …]`` (GeoJSON order)."""
    out = []
    for pair in value.split():
        try:
            lat_s, lon_s = pair.split(",")
            lat, lon = float(lat_s), float(lon_s)
        except ValueError:
            raise ParseError(f"bad coordinate pair {pair!r} in <{local(el.tag)}>: expected 'lat,lon'",
                             source=source, line=el.sourceline) from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ParseError(f"coordinate {pair!r} out of range", source=source, line=el.sourceline)
        out.append([lon, lat])
    return out


def _polygon(el: etree._Element, source: str) -> list[list[float]] | None:
    value = text(el)
    if not value:
        return None
    ring = _pairs(value, el, source)
    if len(ring) < 3:
        raise ParseError(f"polygon with {len(ring)} points", source=source, line=el.sourceline)
    if ring[0] != ring[-1]:  # the spec requires closure; close it rather than drop the area
        ring.append(ring[0])
    return ring


def _circle(el: etree._Element, source: str) -> dict | None:
    value = text(el)
    if not value:
        return None
    try:
        centre, radius_km = value.split()
        ((lon, lat),) = _pairs(centre, el, source)
    except ValueError:
        raise ParseError(f"bad circle {value!r}: expected 'lat,lon radius_km'", source=source,
                         line=el.sourceline) from None
    try:
        radius = circle_radius_m(radius_km)
    except ValueError as exc:
        raise ParseError(f"bad circle {value!r}: {exc}", source=source,
                         line=el.sourceline) from None
    return circle_polygon(lat, lon, radius)


def _areas(infos: list[etree._Element], source: str) -> tuple[Area, ...]:
    out: dict[tuple, Area] = {}
    for info in infos:
        for area in children(info, "area"):
            desc = path_text(area, "areaDesc")
            rings = [r for r in (_polygon(p, source) for p in children(area, "polygon")) if r]
            shapes = [c for c in (_circle(c, source) for c in children(area, "circle")) if c]
            rings += [s["coordinates"][0] for s in shapes if s["type"] == "Polygon"]
            points = [s for s in shapes if s["type"] == "Point"]
            found: list[Area] = []
            if len(rings) == 1:
                found.append(Area(None, "geometry", desc, {"type": "Polygon", "coordinates": rings}))
            elif rings:
                found.append(Area(None, "geometry", desc,
                                  {"type": "MultiPolygon", "coordinates": [[r] for r in rings]}))
            found += [Area(None, "geometry", desc, p) for p in points]
            for g in children(area, "geocode"):
                name, value = path_text(g, "valueName"), path_text(g, "value")
                if name and value:
                    scheme = vcap.GEOCODE_SCHEMES.get(name, f"cap:{name}")
                    if scheme == "lg_code" and not (len(value) == 6 and value.isdigit()):
                        scheme = f"cap:{name}"
                    found.append(Area(value, scheme, desc))
            if not found and desc:
                found.append(Area(None, "name", desc))
            for a in found:
                key = (a.scheme, a.code) if a.code else (a.scheme, repr(a.geometry), a.name)
                out.setdefault(key, a)
    return tuple(out.values())


def _hazards(infos: list[etree._Element], *, cancelled: bool, source: str) -> tuple[Hazard, ...]:
    """One hazard per event of the primary-language infos; AllClear / Cancel → lifted."""
    out: list[Hazard] = []
    seen = set()
    for info in infos:
        event = path_text(info, "event") or ""
        category = path_text(info, "category")
        response = {text(r) for r in children(info, "responseType")}
        state = "lifted" if cancelled or "AllClear" in response else "issued"
        key = (event, category, state)
        if key in seen:
            continue
        seen.add(key)
        codes = [path_text(c, "value") for c in children(info, "eventCode")]
        sev = path_text(info, "severity") or "Unknown"
        out.append(Hazard(
            area_code=None,
            area_scheme="name",
            kind=vcap.hazard_kind(category, event),
            name=event,
            state=state,
            code=next((c for c in codes if c), None),
            state_label=msg_state(cancelled, response),
            level=_level([info]),
            severity=sev if sev in SEVERITY_ORDER else "Unknown",
        ))
    return tuple(out)


def msg_state(cancelled: bool, response: set) -> str | None:
    if cancelled:
        return "Cancel"
    if "AllClear" in response:
        return "AllClear"
    return None
