"""L-Alert / Commons: the elements lalert needs (errors) and the ones EDXL-DE 1.0 and
PCXML require but lalert can do without (warnings), each reported at its line.

No public XSD for PCXML is at hand, so these checks follow
``corpus/xml/commons/FORMAT-NOTES.md`` and the published samples.
"""

from __future__ import annotations

import re

from lxml import etree

from lalert.parsers import commons as parser
from lalert.parsers.common import iso
from lalert.parsers.xmlsafe import ParseError, child, children, descendants, local, path, text
from lalert.validate.problem import Problem, problem
from lalert.vocab import commons as vc
from lalert.vocab import lg_code_check_digit

EDXL_REQUIRED = ("distributionID", "senderID", "dateTimeSent", "distributionStatus",
                 "distributionType", "combinedConfidentiality")
_CIRCLE = re.compile(r"^\s*-?\d+(\.\d+)?\s*,\s*-?\d+(\.\d+)?\s*[, ]\s*\d+(\.\d+)?\s*$")


def check(root: etree._Element, *, raw: bytes, source: str) -> list[Problem]:
    out: list[Problem] = []
    try:
        edxl, report = parser._unwrap(root, source)
    except ParseError as exc:
        return [Problem(exc.line, "", exc.reason)]
    control, head = child(report, "Control"), child(report, "Head")
    content = child(edxl, "contentObject")

    if edxl is not None:
        for name in EDXL_REQUIRED:
            if not text(child(edxl, name)):
                out.append(problem(edxl, f"EDXL-DE <EDXLDistribution> lacks <{name}>", "warning"))
        if content is None:
            out.append(problem(edxl, "EDXL-DE <EDXLDistribution> lacks <contentObject>"))
    if control is None:
        out.append(problem(report, "PCXML <Report> lacks <Control>", "warning"))
    if head is None:
        out.append(problem(report, "PCXML <Report> lacks <Head>"))
    elif not text(child(head, "Title")):
        out.append(problem(head, "PCXML <Head> lacks <Title>"))

    if not (text(child(edxl, "distributionStatus")) or text(child(control, "distributionStatus"))
            or text(child(control, "Status"))):
        out.append(problem(control if control is not None else report,
                           "no status: neither EDXL distributionStatus nor Control/distributionStatus"))
    if not (text(child(head, "ReportDateTime")) or text(child(edxl, "dateTimeSent"))):
        out.append(problem(head if head is not None else report,
                           "no time: neither Head/ReportDateTime nor EDXL dateTimeSent"))
    elif head is not None and not text(child(head, "ReportDateTime")):
        out.append(problem(head, "PCXML <Head> lacks <ReportDateTime>", "warning"))
    category = text(child(content, "category")) or text(child(control, "Title"))
    if not category:
        out.append(problem(content if content is not None else report,
                           "no category: neither contentObject/category nor Control/Title"))
    elif category not in vc.CATEGORY_KINDS:
        out.append(problem(child(content, "category") if content is not None else control,
                           f"unknown category {category!r}", "warning"))
    if not (text(child(content, "documentID")) or text(child(head, "documentID"))):
        out.append(problem(head if head is not None else report,
                           "no documentID: versions of this document cannot be told apart"))
    if not (text(child(content, "documentRevision")) or text(child(head, "documentRevision"))):
        out.append(problem(head if head is not None else report,
                           "no documentRevision: a newer version cannot be told from an older one"))

    out += _values(root)
    out += _body(report)
    if not any(p.severity == "error" for p in out):
        try:
            parser.parse_tree(root, raw=raw, source=source)
        except ParseError as exc:
            out.append(Problem(exc.line, "", f"lalert cannot read it: {exc.reason}"))
    return sorted(out, key=lambda p: p.line or 0)


def _values(root: etree._Element) -> list[Problem]:
    out: list[Problem] = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        name, value = local(el.tag), text(el)
        if not value:
            continue
        if name == "jisX0402":
            if not re.fullmatch(r"\d{6}", value):
                out.append(problem(el, f"jisX0402 {value!r} is not a 6-digit local-government code"))
            elif lg_code_check_digit(value[:5]) != value[5]:
                out.append(problem(el, f"jisX0402 {value!r} has a wrong check digit "
                                   f"(expected {value[:5]}{lg_code_check_digit(value[:5])})", "warning"))
        elif name == "ooAzaTyouTyouMokuCode" and not re.fullmatch(r"\d{12}", value):
            out.append(problem(el, f"ooAzaTyouTyouMokuCode {value!r} is not a 12-digit 町丁目 code"))
        elif name == "circle" and not _CIRCLE.match(value):
            out.append(problem(el, f"circle {value!r} is not 'lat,lon,radius'"))
        elif name.endswith("DateTime") or name == "dateTimeSent":
            try:
                iso(value)
            except ValueError:
                out.append(problem(el, f"<{name}> {value!r} is not an ISO 8601 date-time"))
        elif name == "documentRevision" and not value.isdigit():
            out.append(problem(el, f"documentRevision {value!r} is not a number"))
        elif name == "distributionStatus" and value.lower() not in vc.STATUS and value not in vc.STATUS:
            out.append(problem(el, f"distributionStatus {value!r} is not one of "
                               "Actual, Exercise, System, Test"))
    return out


def _body(report: etree._Element) -> list[Problem]:
    body = parser._body(report)
    if body is None:
        return []
    out: list[Problem] = []
    kind = local(body.tag)
    if kind == "EvacuationOrder":
        for detail in children(body, "Detail"):
            sort, act = child(detail, "Sort"), child(detail, "IssueOrLift")
            if not text(sort):
                out.append(problem(detail, "evacuation <Detail> lacks <Sort>"))
            elif vc.evacuation_order(text(sort))[0] == "other":
                out.append(problem(sort, f"unknown evacuation Sort {text(sort)!r}", "warning"))
            if not text(act):
                out.append(problem(detail, "evacuation <Detail> lacks <IssueOrLift>"))
            elif text(act) not in vc.EVACUATION_ACTIONS:
                out.append(problem(act, f"IssueOrLift {text(act)!r} is neither 発令 nor 解除"))
            if not children(path(detail, "Areas"), "Area"):
                out.append(problem(detail, "evacuation <Detail> names no Areas/Area", "warning"))
    elif kind == "Shelter":
        infos = descendants(body, "Information")
        for info in infos:
            if not text(path(info, "Location", "areaName")):
                out.append(problem(info, "shelter <Information> lacks Location/areaName (its name)"))
            sort, status = child(info, "Sort"), child(info, "Status")
            if text(sort) and text(sort) not in vc.SHELTER_STATES:
                out.append(problem(sort, f"unknown shelter Sort {text(sort)!r}", "warning"))
            if text(status) and text(status) not in vc.SHELTER_CROWDING:
                out.append(problem(status, f"unknown shelter Status {text(status)!r}", "warning"))
    return out
