"""Which format is this tree? Decided by root element and namespace only."""

from __future__ import annotations

from lxml import etree

from lalert.parsers.xmlsafe import ParseError, child, local, ns

JMA_NS = "http://xml.kishou.go.jp/jmaxml1/"
CAP_NS = {
    "urn:oasis:names:tc:emergency:cap:1.2",
    "urn:oasis:names:tc:emergency:cap:1.1",
    "urn:oasis:names:tc:emergency:cap:1.0",
    "http://www.incident.com/cap/1.0",
}
EDXL_DE_NS = "urn:oasis:names:tc:emergency:EDXL:DE:1.0"
SOAP_NS = {"http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope"}
ATOM_NS = "http://www.w3.org/2005/Atom"
PCXML_PREFIX = "http://xml.publiccommons.ne.jp/pcxml1/"


def detect(root: etree._Element, *, source: str = "<bytes>") -> str:
    """Return ``jmaxml`` | ``commons`` | ``cap`` or raise ``ParseError`` naming the root."""
    name, uri = local(root.tag), ns(root.tag)
    if name == "Envelope" and uri in SOAP_NS:
        # L-Alert's SOAP publish: decide by what the envelope carries.
        inner = soap_payload(root)
        if inner is None:
            raise ParseError("SOAP envelope carries no message", source=source)
        return detect(inner, source=source)
    if name == "Report" and uri == JMA_NS:
        return "jmaxml"
    if name == "Report" and uri.startswith(PCXML_PREFIX):
        return "commons"
    if name == "alert" and uri in CAP_NS:
        return "cap"
    if name == "EDXLDistribution" and uri == EDXL_DE_NS:
        # Commons wraps PCXML in EDXL-DE; others wrap CAP. Look at the embedded content.
        for el in root.iter():
            u = ns(el.tag)
            if u.startswith(PCXML_PREFIX) or u.startswith("http://xml.publiccommons.ne.jp/"):
                return "commons"
            if local(el.tag) == "alert" and u in CAP_NS:
                return "cap"
        raise ParseError("EDXL-DE envelope carries neither PCXML nor CAP", source=source)
    if name in ("feed", "rss", "RDF"):
        # Feeds of CAP alerts (Atom or RSS); entries may inline the alert.
        return "cap"
    raise ParseError(
        f"unknown document: root element <{name}> in namespace {uri or '(none)'!r}; "
        "expected JMA Report, PCXML Report / EDXL-DE / SOAP publish, or CAP alert / feed",
        source=source,
        line=root.sourceline,
    )


def soap_payload(envelope: etree._Element) -> etree._Element | None:
    body = child(envelope, "Body")
    if body is None:
        return None
    for el in body.iter():
        if el is body or not isinstance(el.tag, str):
            continue
        n, u = local(el.tag), ns(el.tag)
        if (n == "Report" and (u == JMA_NS or u.startswith(PCXML_PREFIX))) or (
            n == "alert" and u in CAP_NS
        ) or (n == "EDXLDistribution" and u == EDXL_DE_NS):
            return el
    return None
