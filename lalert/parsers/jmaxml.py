"""JMA disaster-information XML (気象庁防災情報XML) → ``Alert``.

One ``Report`` is one alert. Control and Head are common to every telegram; the Body
is read by one module per family (``jma_meteo``: warnings, 土砂災害警戒情報, 指定河川
洪水予報, 竜巻, 記録的短時間大雨; ``jma_seismic``: 緊急地震速報, 地震, 津波, 南海トラフ;
``jma_volcano``: 噴火警報・予報, 解説情報, 噴火速報, 降灰予報). The family is chosen from
Control/Title (then Head/InfoKind); an unknown title is still parsed generically, never
rejected. Elements are matched by local name because the Body namespace differs by family.
"""

from __future__ import annotations

from lxml import etree

from lalert.model import Alert
from lalert.parsers import jma_advice, jma_meteo, jma_seismic, jma_volcano
from lalert.parsers.common import content_id, iso, sha256
from lalert.parsers.jma_common import Collector, kid, kids, leaf, local, max_severity, scan, text_at
from lalert.parsers.xmlsafe import ParseError
from lalert.vocab import jma as V

_FAMILY = {
    "weather_warning": jma_meteo.parse_body,
    "landslide": jma_meteo.parse_body,
    "river_flood": jma_meteo.parse_body,
    "record_rain": jma_meteo.parse_body,
    "tornado": jma_meteo.parse_body,
    "weather_info": jma_meteo.parse_body,
    "eew": jma_seismic.parse_body,
    "earthquake": jma_seismic.parse_body,
    "earthquake_activity": jma_seismic.parse_body,
    "tsunami": jma_seismic.parse_body,
    "nankai": jma_seismic.parse_body,
    "volcano": jma_volcano.parse_body,
    "ashfall": jma_volcano.parse_body,
}

# Warning telegrams name every area of their Headline again in Body/Warning (with the
# areas where nothing is in force besides), so reading the Headline adds nothing.
_BODY_REPEATS_HEADLINE = frozenset({"weather_warning", "tornado", "landslide", "record_rain"})

_IN_FORCE_EXCLUDED = frozenset({"lifted", "none"})

# Body children whose text is the message's free text, in the order they are joined.
_TEXT_CHILDREN = ("Comment", "Comments", "EarthquakeInfo", "VolcanoInfoContent", "Text", "NextAdvisory", "Notice")
_TEXT_SET = frozenset(_TEXT_CHILDREN)
_COMMENT_PARTS = ("Text", "FreeFormComment")
_COMMENTS_PARTS = ("WarningComment", "ForecastComment", "VarComment", "FreeFormComment")
_VOLCANO_PARTS = ("VolcanoHeadline", "VolcanoActivity", "VolcanoPrevention", "Text", "NextAdvisory", "Appendix")


def parse_tree(root: etree._Element, *, raw: bytes, source: str) -> list[Alert]:
    # Control's and Head's leaves are read from one pass over each (``scan``): a dozen
    # ``kid`` lookups would each build a tag matcher, a tenth of a small telegram's parse.
    top = scan(root)
    control = top.get("Control")
    head = top.get("Head")
    body = top.get("Body")
    if control is None:
        raise ParseError("JMA Report has no Control", source=source, line=root.sourceline)
    if head is None:
        raise ParseError("JMA Report has no Head", source=source, line=root.sourceline)
    c = scan(control)
    h = scan(head)

    c_title = _required(control, c, "Title", source, "Control/Title")
    c_status = _required(control, c, "Status", source, "Control/Status")
    report_dt = _required(head, h, "ReportDateTime", source, "Head/ReportDateTime")
    info_type_ja = _required(head, h, "InfoType", source, "Head/InfoType")

    status = V.STATUS.get(c_status)
    if status is None:
        raise ParseError(f"unknown Control/Status {c_status!r}", source=source, line=c["Status"].sourceline)
    info_type = V.INFO_TYPES.get(info_type_ja)
    if info_type is None:
        raise ParseError(f"unknown Head/InfoType {info_type_ja!r}", source=source, line=h["InfoType"].sourceline)
    try:
        issued_at = iso(report_dt)
        valid_until = iso(leaf(h.get("ValidDateTime")))
    except ValueError as exc:
        raise ParseError(f"bad date-time in Head: {exc}", source=source, line=head.sourceline) from None

    info_kind = leaf(h.get("InfoKind"))
    kind = V.kind_for_title(c_title) or V.kind_for_title(info_kind) or "other"
    serial_text = leaf(h.get("Serial"))
    serial = int(serial_text) if serial_text and serial_text.isdigit() else None
    headline = h.get("Headline")

    raw_hash = sha256(raw)
    col = Collector()
    if kind not in _BODY_REPEATS_HEADLINE or body is None or kid(body, "Warning") is None:
        _headline_areas(headline, col)
    if body is not None:
        parse_body = _FAMILY.get(kind, jma_meteo.parse_body)
        parse_body(body, col, kind=kind, title=c_title, head=head)
        _body_text(body, col)

    # A 取消 withdraws the earlier message: nothing it names is in force any more.
    in_force = [] if info_type == "cancel" else [h for h in col.hazards if h.state not in _IN_FORCE_EXCLUDED]
    levels = [h.level for h in in_force if h.level is not None]
    severity = max_severity([h.severity for h in in_force]) if in_force else "Unknown"
    if severity == "Unknown" and info_type != "cancel":
        severity = col.fallback_severity

    alert = Alert(
        format="jmaxml",
        id=content_id("jmaxml", raw, digest=raw_hash),
        info_type=info_type,
        status=status,
        kind=kind,
        title=leaf(h.get("Title")) or c_title,
        issued_at=issued_at,
        raw_sha256=raw_hash,
        event_id=leaf(h.get("EventID")),
        serial=serial,
        headline=text_at(headline, "Text"),
        text="\n\n".join(col.texts) or None,
        instruction=None if info_type == "cancel" else jma_advice.instruction(head, body),
        valid_until=valid_until,
        publisher=leaf(c.get("PublishingOffice")),
        type_code=V.TITLE_TYPE_CODES.get(c_title),
        level=max(levels) if levels else None,
        severity=severity,
        areas=col.areas,
        hazards=tuple(col.hazards),
        details={"control_title": c_title, "info_kind": info_kind, **col.details},
    )
    return [alert]


def _required(el: etree._Element, leaves: dict[str, etree._Element], name: str, source: str,
              label: str) -> str:
    value = leaf(leaves.get(name))
    if value is None:
        raise ParseError(f"missing or empty {label}", source=source, line=el.sourceline)
    return value


def _headline_areas(headline: etree._Element | None, col: Collector) -> None:
    """Every Head/Headline/Information/Item/Areas/Area, keyed by its Areas/@codeType."""
    for info in kids(headline, "Information"):
        for item in kids(info, "Item"):
            for areas in kids(item, "Areas"):
                scheme = V.scheme_for_code_type(areas.get("codeType"))
                for a in kids(areas, "Area"):
                    col.area_el(a, V.scheme_for_code_type(a.get("codeType"), scheme))


def _body_text(body: etree._Element, col: Collector) -> None:
    # One pass groups Body's children by local name; the parts are then taken in
    # _TEXT_CHILDREN's order, as before.
    found: dict[str, list[etree._Element]] = {}
    for el in body:
        n = local(el.tag)
        if n in _TEXT_SET:
            found.setdefault(n, []).append(el)
    if not found:
        return
    for name in _TEXT_CHILDREN:
        for el in found.get(name, ()):
            if name == "Comment":
                for part in _COMMENT_PARTS:
                    for p in kids(el, part):
                        col.text(leaf(p))
            elif name == "Comments":
                for part in _COMMENTS_PARTS:
                    for p in kids(el, part):
                        col.text(leaf(p) if part == "FreeFormComment" else text_at(p, "Text"))
            elif name == "EarthquakeInfo":
                col.text(text_at(el, "Text"))
            elif name == "VolcanoInfoContent":
                for part in _VOLCANO_PARTS:
                    col.text(text_at(el, part))
            else:
                col.text(leaf(el))
