"""L-Alert / 公共情報コモンズ XML → ``Alert``.

Accepts the three shapes a message arrives in: the SOAP ``publish`` envelope L-Alert
delivers, a bare EDXL-DE ``EDXLDistribution``, or a bare PCXML ``Report`` (v3 or v4).
Senders bind the same namespaces to arbitrary prefixes (``pcx_cns_i8`` …), and v3 / v4
heads differ only in namespace, so every lookup here goes by *local name*.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from lxml import etree

from lalert.model import SEVERITIES, Alert, Area, Evacuation, Shelter
from lalert.parsers.common import circle_polygon, circle_radius_m, content_id, iso, sha256, to_int
from lalert.parsers.xmlsafe import (
    ParseError,
    child,
    children,
    descendants,
    local,
    ns,
    path,
    path_text,
    text,
)
from lalert.vocab import commons as vc
from lalert.vocab import severity_for_level

PCXML_PREFIX = "http://xml.publiccommons.ne.jp/pcxml1/"


def parse_tree(root: etree._Element, *, raw: bytes, source: str) -> list[Alert]:
    """One Commons message → one Alert (see module docstring for the accepted shapes)."""
    edxl, report = _unwrap(root, source)
    return [_alert(edxl, report, raw=raw, source=source)]


# --- finding the parts --------------------------------------------------------------


def _unwrap(root: etree._Element, source: str) -> tuple[etree._Element | None, etree._Element]:
    """(EDXLDistribution or None, PCXML Report) wherever they sit in the tree."""
    edxl = root if local(root.tag) == "EDXLDistribution" else None
    if edxl is None:
        edxl = next((e for e in root.iter() if local(e.tag) == "EDXLDistribution"), None)
    report = None
    for el in (edxl if edxl is not None else root).iter():
        if local(el.tag) == "Report" and ns(el.tag).startswith(PCXML_PREFIX):
            report = el
            break
    if report is None:
        where = edxl if edxl is not None else root
        raise ParseError(
            "no PCXML <Report> found (expected under contentObject/xmlContent/embeddedXMLContent)",
            source=source,
            line=where.sourceline,
        )
    return edxl, report


def _body(report: etree._Element) -> etree._Element | None:
    """The body element: the Report child that is neither Control nor Head."""
    for c in report:
        if isinstance(c.tag, str) and local(c.tag) not in ("Control", "Head"):
            return c
    return None


def _first_text(*candidates: str | None) -> str | None:
    return next((c for c in candidates if c), None)


# --- the alert ----------------------------------------------------------------------


def _alert(edxl: etree._Element | None, report: etree._Element, *, raw: bytes, source: str) -> Alert:
    control = child(report, "Control")
    head = child(report, "Head")
    body = _body(report)
    content = child(edxl, "contentObject")

    category = _first_text(
        path_text(content, "category"),
        path_text(control, "Title"),
        local(body.tag) if body is not None else None,
    )
    kind = vc.CATEGORY_KINDS.get(category or "", "general")

    document_id = _first_text(path_text(content, "documentID"), path_text(head, "documentID"))
    revision_text = _first_text(
        path_text(content, "documentRevision"), path_text(head, "documentRevision")
    )
    serial = to_int(revision_text)
    if revision_text and serial is None:
        el = path(content, "documentRevision")
        if el is None or text(el) != revision_text:
            el = path(head, "documentRevision")
        raise ParseError(
            f"documentRevision {revision_text!r} is not a number", source=source, line=el.sourceline
        )
    distribution_id = path_text(edxl, "distributionID") or path_text(head, "distributionID")
    if distribution_id:
        msg_id = distribution_id
    elif document_id:
        msg_id = f"{document_id}#{serial if serial is not None else 0}"
    else:
        msg_id = content_id("commons", raw)

    status = _status(edxl, control, head, source=source)
    issued_at = _time(
        source,
        path(head, "ReportDateTime"),
        path(edxl, "dateTimeSent"),
        path(head, "CreateDateTime"),
    )
    if issued_at is None:
        raise ParseError(
            "no time: neither Head/ReportDateTime nor EDXL dateTimeSent is given",
            source=source,
            line=(head if head is not None else report).sourceline,
        )
    title = _first_text(
        path_text(head, "Title"), path_text(content, "contentDescription"), category, "L-Alert"
    )
    headline = path_text(head, "Headline", "Text")

    evacuations: tuple[Evacuation, ...] = ()
    shelters: tuple[Shelter, ...] = ()
    details: dict[str, Any] = {"category": category}
    body_areas: list[Area] = []
    if body is not None:
        disaster = path_text(body, "Disaster", "DisasterName")
        if disaster:
            details["disaster"] = disaster
        if kind == "evacuation":
            evacuations, body_areas, totals = _evacuations(body, source)
            if totals:
                details["total"] = totals
        elif kind == "shelter":
            shelters = _shelters(body, source)
            totals = _counts(child(body, "TotalNumber"))
            if totals:
                details["total"] = totals
            n = to_int(path_text(body, "TotalNumberOfShelter"))
            if n is not None:
                details["total_shelters"] = n
        else:
            body_areas = [a for loc in descendants(body, "Location")
                          for a in _location_areas(loc, source, prefer_shape=True)]

    level = max((e.level for e in evacuations if e.action == "issued" and e.level), default=None)
    severity = path_text(content, "severity")
    if severity not in SEVERITIES:
        severity = severity_for_level(level)

    text_body = _body_text(body) if kind not in ("evacuation", "shelter") else None
    valid_until = _time(source, path(head, "ValidDateTime"))
    language = (path_text(edxl, "language") or "ja").split("-")[0].lower()

    return Alert(
        format="commons",
        id=msg_id,
        event_id=document_id,
        serial=serial,
        info_type=_info_type(edxl, head, title, serial),
        status=status,
        kind=kind,
        title=title,
        headline=headline,
        text=text_body or headline,
        instruction=_instruction(body),
        issued_at=issued_at,
        valid_until=valid_until,
        publisher=_publisher(control, content, edxl),
        type_code=category,
        language=language,
        level=level,
        severity=severity,
        areas=_dedupe(_scope(_target_areas(edxl, head, source), evacuations, body_areas) + body_areas),
        evacuations=evacuations,
        shelters=shelters,
        raw_sha256=sha256(raw),
        details=details,
    )


def _status(edxl, control, head, *, source: str) -> str:
    el = path(edxl, "distributionStatus")
    if el is None or not text(el):
        el = next(
            (e for e in (path(control, "distributionStatus"), path(control, "Status"),
                         path(head, "distributionStatus")) if e is not None and text(e)),
            None,
        )
    if el is None:
        where = next((e for e in (edxl, control, head) if e is not None), None)
        raise ParseError(
            "no status: neither EDXL distributionStatus nor Control/distributionStatus is given",
            source=source,
            line=where.sourceline if where is not None else None,
        )
    word = text(el) or ""
    status = vc.STATUS.get(word.lower()) or vc.STATUS.get(word)
    if status is None:
        raise ParseError(f"unknown distributionStatus {word!r}", source=source, line=el.sourceline)
    return status


def _info_type(edxl, head, title: str | None, serial: int | None) -> str:
    """新規/更新/訂正/取消 from Head InfoType or updateCategory, else EDXL distributionType."""
    for name in ("InfoType", "updateCategory", "UpdateCategory"):
        word = path_text(head, name)
        if word and word in vc.INFO_TYPES:
            return vc.INFO_TYPES[word]
    dtype = path_text(edxl, "distributionType") or path_text(head, "distributionType")
    mapped = vc.INFO_TYPES.get((dtype or "").lower())
    if mapped and mapped != "issue":
        return mapped
    if title and "取消" in title:
        return "cancel"
    if title and "訂正" in title:
        return "correction"
    # A "Report" at revision 2+ is a new version of the same document.
    return "update" if serial is not None and serial > 1 else "issue"


def _publisher(control, content, edxl) -> str | None:
    office = path(control, "PublishingOffice")
    names = [text(e) for e in descendants(office, "OrganizationName")]
    return _first_text(
        *names,
        path_text(content, "publishingOfficeName"),
        path_text(edxl, "senderID"),
    )


def _time(source: str, *elements: etree._Element | None) -> str | None:
    for el in elements:
        value = text(el)
        if not value:
            continue
        try:
            return iso(value)
        except ValueError:
            raise ParseError(f"bad date-time {value!r} in <{local(el.tag)}>", source=source,
                             line=el.sourceline) from None
    return None


# --- areas --------------------------------------------------------------------------


def _target_areas(edxl, head, source: str) -> list[Area]:
    out: list[Area] = []
    for ta in children(edxl, "targetArea"):
        out.extend(_location_areas(ta, source, keep_name_only=True))
    for area in children(path(head, "Headline", "Areas"), "Area"):
        out.extend(_location_areas(area, source, keep_name_only=True))
    return out


def _location_areas(loc: etree._Element, source: str, *, keep_name_only: bool = False,
                    prefer_shape: bool = False) -> list[Area]:
    """Areas one Location-like element names: its 町丁目 code, or else its municipality
    code, or else its name; a circle becomes the area's geometry.

    ``prefer_shape``: in a body, a Location's jisX0402 is usually the *parent*
    municipality of a smaller named place; a circle with a radius describes that place
    better than the whole municipality does."""
    name = path_text(loc, "areaName")
    lg = path_text(loc, "jisX0402")
    chome = path_text(loc, "ooAzaTyouTyouMokuCode")
    geometry = _circle_geometry(path(loc, "circle"), source)
    if chome:
        return [Area(code=chome, scheme="commons.chome", name=name, geometry=geometry)]
    if prefer_shape and geometry is not None and geometry["type"] == "Polygon":
        return [Area(code=None, scheme="geometry", name=name, geometry=geometry)]
    if lg:
        return [Area(code=lg, scheme="lg_code", name=name, geometry=geometry)]
    if geometry is not None:
        return [Area(code=None, scheme="geometry", name=name, geometry=geometry)]
    if name and keep_name_only:
        return [Area(code=None, scheme="name", name=name)]
    return []


def _circle(el: etree._Element | None, source: str) -> tuple[float, float, float] | None:
    """(lat, lon, radius in metres). Commons writes ``lat,lon,radius``; the element is
    EDXL-DE's ``circle``, whose radius is in kilometres (as in CAP), so it is read as km.
    CAP-style ``lat,lon radius`` is accepted too."""
    value = text(el)
    if not value:
        return None
    parts = value.replace(" ", ",").split(",")
    parts = [p for p in parts if p]
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except (ValueError, IndexError):
        raise ParseError(f"bad circle {value!r}: expected 'lat,lon,radius'", source=source,
                         line=el.sourceline) from None
    try:
        radius = circle_radius_m(parts[2]) if len(parts) > 2 else 0.0
    except ValueError as exc:
        raise ParseError(f"bad circle {value!r}: {exc}", source=source,
                         line=el.sourceline) from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or radius < 0:
        raise ParseError(f"circle {value!r} is out of range", source=source, line=el.sourceline)
    return lat, lon, radius


def _circle_geometry(el, source: str) -> dict | None:
    c = _circle(el, source)
    return circle_polygon(*c) if c else None


def _scope(targets: list[Area], evacuations: tuple[Evacuation, ...], body_areas: list[Area]) -> list[Area]:
    """An order's target areas (the municipality) are its ``scope`` when its areas carry
    their own 発令 / 解除: the order covers the areas it names, not the whole town. An
    order that names no place of its own covers its target areas, as issued or lifted."""
    if not evacuations:
        return targets
    if not body_areas:
        on = any(e.action != "lifted" for e in evacuations)
        return [dataclasses.replace(a, status="active" if on else "lifted",
                                    status_label="発令" if on else "解除") for a in targets]
    return [dataclasses.replace(a, status="scope") for a in targets]


_STATUS_RANK = {"active": 3, "lifted": 2, "none": 1, "scope": 0}


def _dedupe(areas: list[Area]) -> tuple[Area, ...]:
    """One area per key; when a place is named twice, the stronger status wins (an order
    発令 there over one 解除, any stated status over ``scope``) and a name fills a gap."""
    seen: dict[tuple, Area] = {}
    for a in areas:
        key = (a.scheme, a.code) if a.code else (a.scheme, a.name, repr(a.geometry))
        old = seen.get(key)
        if old is None:
            seen[key] = a
            continue
        best = a if _STATUS_RANK.get(a.status, 0) > _STATUS_RANK.get(old.status, 0) else old
        kept = a if old.name is None and a.name else old
        seen[key] = dataclasses.replace(kept, status=best.status, status_label=best.status_label)
    return tuple(seen.values())


# --- bodies -------------------------------------------------------------------------


def _counts(el: etree._Element | None) -> dict[str, int]:
    """Integer children of a count element (TotalNumber, NumberOf, Object …) by local name."""
    out: dict[str, int] = {}
    for c in el if el is not None else ():
        if isinstance(c.tag, str):
            n = to_int(text(c))
            if n is not None:
                out[local(c.tag)] = n
    return out


def _evacuations(body, source: str) -> tuple[tuple[Evacuation, ...], list[Area], dict[str, int]]:
    evacs: list[Evacuation] = []
    areas: list[Area] = []
    for detail in children(body, "Detail"):
        sort = path_text(detail, "Sort")
        order, level = vc.evacuation_order(sort)
        action_word = path_text(detail, "IssueOrLift") or "発令"
        action = vc.EVACUATION_ACTIONS.get(action_word)
        if action is None:
            el = path(detail, "IssueOrLift")
            raise ParseError(f"IssueOrLift {action_word!r} is neither 発令 nor 解除",
                             source=source, line=el.sourceline if el is not None else None)
        for area in children(path(detail, "Areas"), "Area"):
            loc = child(area, "Location")
            circle = _circle(path(loc, "circle"), source)
            counts: dict[str, int] = {}
            for holder in (area, child(area, "Object")):
                counts.update({k: v for k, v in _counts(holder).items() if k != "DateTime"})
            evacs.append(
                Evacuation(
                    order=order,
                    action=action,
                    area_name=path_text(loc, "areaName"),
                    area_code=path_text(loc, "ooAzaTyouTyouMokuCode") or path_text(loc, "jisX0402"),
                    order_label=sort,
                    level=level,
                    issued_at=_time(source, path(area, "DateTime")),
                    households=counts.get("Households"),
                    people=counts.get("HeadCount", counts.get("People")),
                    lat=circle[0] if circle else None,
                    lon=circle[1] if circle else None,
                    radius_m=circle[2] if circle else None,
                )
            )
            if loc is not None:
                status = "active" if action == "issued" else "lifted"
                areas.extend(dataclasses.replace(a, status=status, status_label=action_word)
                             for a in _location_areas(loc, source, keep_name_only=True, prefer_shape=True))
    totals = _counts(child(body, "TotalNumber"))
    return tuple(evacs), areas, totals


def _shelters(body, source: str) -> tuple[Shelter, ...]:
    out: list[Shelter] = []
    for info in children(path(body, "Informations"), "Information") or children(body, "Information"):
        loc = child(info, "Location")
        name = path_text(loc, "areaName") or path_text(info, "Name")
        if not name:
            raise ParseError("shelter Information without a name (Location/areaName)",
                             source=source, line=info.sourceline)
        sort = path_text(info, "Sort")
        crowd = path_text(info, "Status")
        circle = _circle(path(loc, "circle"), source)
        counts = _counts(child(info, "NumberOf"))
        phone = next(
            (text(c) for c in descendants(loc, "ContactInfo")
             if any(local(k) == "contactType" and v == "phone" for k, v in c.attrib.items())
             and text(c)),
            None,
        )
        out.append(
            Shelter(
                name=name,
                state=vc.SHELTER_STATES.get(sort or "", "unknown"),
                code=_first_text(path_text(info, "Code"), path_text(info, "ShelterCode"),
                                 path_text(loc, "Code")),
                state_label=sort,
                kind=path_text(info, "Type"),
                lat=circle[0] if circle else None,
                lon=circle[1] if circle else None,
                address=path_text(loc, "Address") or path_text(info, "Address"),
                phone=phone,
                area_code=path_text(loc, "jisX0402"),
                capacity=to_int(path_text(info, "Capacity")),
                head_count=counts.get("HeadCount"),
                head_count_voluntary=counts.get("HeadCountVoluntary"),
                households=counts.get("Households"),
                households_voluntary=counts.get("HouseholdsVoluntary"),
                crowding=vc.SHELTER_CROWDING.get(crowd) if crowd else None,
                changed_at=_time(source, path(info, "DateTime")),
                checked_at=_time(source, path(info, "CheckedDateTime")),
                radius_m=circle[2] if circle and len(circle) > 2 else None,
            )
        )
    return tuple(out)


_TEXT_NAMES = ("Text", "Content", "Description", "Message", "Subject", "Body", "Comment")


def _instruction(body: etree._Element | None) -> str | None:
    """The municipality's advice to residents: every ComplementaryInfo (補足情報) of the body
    (EvacuationOrder: "浸水している道路や川沿いを避けてください"), bounded in length."""
    if body is None:
        return None
    parts = [t for t in (text(el) for el in descendants(body, "ComplementaryInfo")) if t]
    return "\n\n".join(dict.fromkeys(parts)) or None  # bounded by lalert.parsers.bounds


def _body_text(body: etree._Element | None) -> str | None:
    """Free text of a general body (お知らせ, 被害, 本部 …): every text-bearing leaf, in order."""
    if body is None:
        return None
    parts: list[str] = []
    for el in body.iter():
        if isinstance(el.tag, str) and local(el.tag) in _TEXT_NAMES and len(el) == 0:
            t = text(el)
            if t and t not in parts:
                parts.append(t)
    return "\n\n".join(parts) or None
