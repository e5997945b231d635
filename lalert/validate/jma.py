"""JMA 防災情報XML: the Control and Head elements every telegram must carry
(jmx.xsd / jmx_ib.xsd), their controlled values, and whether lalert can read the body.

Required-but-nillable elements (EventID, Serial, TargetDateTime) must be present and may
be empty, as in the schema.
"""

from __future__ import annotations

from lxml import etree

from lalert.parsers.common import iso
from lalert.parsers.xmlsafe import ParseError, child, text
from lalert.validate.problem import Problem, problem

CONTROL = ("Title", "DateTime", "Status", "EditorialOffice", "PublishingOffice")
HEAD = ("Title", "ReportDateTime", "TargetDateTime", "EventID", "InfoType", "Serial",
        "InfoKind", "InfoKindVersion", "Headline")
MAY_BE_EMPTY = {"TargetDateTime", "EventID", "Serial"}
STATUS = {"通常", "訓練", "試験"}
INFO_TYPES = {"発表", "訂正", "遅延", "取消"}


def check(root: etree._Element, *, raw: bytes, source: str) -> list[Problem]:
    out: list[Problem] = []
    for part, names in (("Control", CONTROL), ("Head", HEAD)):
        el = child(root, part)
        if el is None:
            out.append(problem(root, f"JMA <Report> lacks required <{part}>"))
            continue
        for name in names:
            c = child(el, name)
            if c is None:
                out.append(problem(el, f"JMA <{part}> lacks required <{name}>"))
            elif name not in MAY_BE_EMPTY and name != "Headline" and not text(c):
                out.append(problem(c, f"JMA <{part}/{name}> is empty"))
    if child(root, "Body") is None:
        out.append(problem(root, "JMA <Report> lacks <Body>"))
    control, head = child(root, "Control"), child(root, "Head")
    status = child(control, "Status")
    if status is not None and text(status) and text(status) not in STATUS:
        out.append(problem(status, f"Control/Status {text(status)!r} is not one of 通常, 訓練, 試験"))
    info_type = child(head, "InfoType")
    if info_type is not None and text(info_type) and text(info_type) not in INFO_TYPES:
        out.append(problem(info_type, f"Head/InfoType {text(info_type)!r} is not one of "
                           "発表, 訂正, 遅延, 取消"))
    for el, name in ((control, "DateTime"), (head, "ReportDateTime"), (head, "TargetDateTime")):
        c = child(el, name)
        if c is not None and text(c):
            try:
                iso(text(c))
            except ValueError:
                out.append(problem(c, f"<{name}> {text(c)!r} is not an ISO 8601 date-time"))
    serial = child(head, "Serial")
    if serial is not None and text(serial) and not text(serial).isdigit():
        out.append(problem(serial, f"Head/Serial {text(serial)!r} is not a number", "warning"))
    if not out:
        out += _parses(root, raw, source)
    return out


def _parses(root: etree._Element, raw: bytes, source: str) -> list[Problem]:
    """Can lalert's JMA parser read it? (Skipped while that parser is not installed.)"""
    try:
        from lalert.parsers import jmaxml
    except ImportError:
        return []
    try:
        jmaxml.parse_tree(root, raw=raw, source=source)
    except ParseError as exc:
        return [Problem(exc.line, "", f"lalert cannot read it: {exc.reason}")]
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        return [Problem(None, "", f"lalert cannot read it: {type(exc).__name__}: {exc}")]
    return []
