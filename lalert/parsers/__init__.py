"""Bytes in, ``Alert`` objects out. No network, no database, no clock.

``parse(data)`` sniffs the format from the root element and namespace (never a file
name) and hands the tree to one module per format. Each format module exposes
``parse_tree(root, *, raw, source) -> list[Alert]`` (a CAP Atom feed holds several
alerts, everything else one).
"""

from __future__ import annotations

from lxml import etree

from lalert.model import Alert
from lalert.parsers.bounds import bound_alert
from lalert.parsers.detect import SOAP_NS, detect, soap_payload
from lalert.parsers.xmlsafe import DEFAULT_MAX_BYTES, ParseError, ns, parse_xml

__all__ = ["parse", "parse_one", "detect", "ParseError", "DEFAULT_MAX_BYTES"]


def parse(
    data: bytes, *, source: str = "<bytes>", max_bytes: int = DEFAULT_MAX_BYTES
) -> list[Alert]:
    """Parse one message (or one feed of messages) into alerts; raise ``ParseError``."""
    root = parse_xml(data, source=source, max_bytes=max_bytes, drop_blank_text=True)
    fmt = detect(root, source=source)
    raw = data if isinstance(data, bytes) else data.encode()
    if fmt == "jmaxml" and ns(root.tag) in SOAP_NS:
        # L-Alert's SOAP ``publish`` around a JMA Report (the Commons and CAP modules read
        # envelopes themselves): the JMA module reads the Report, whose content id is that
        # of the Report as a document of its own.
        payload = soap_payload(parse_xml(data, source=source, max_bytes=max_bytes))
        raw = etree.tostring(payload, encoding="utf-8", xml_declaration=True)
        root = soap_payload(root)
    module = _module(fmt)
    try:
        alerts = module.parse_tree(root, raw=raw, source=source)
    except ParseError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        # A format module met a shape it does not know: report it, never crash the caller.
        raise ParseError(f"unexpected {fmt} structure: {type(exc).__name__}: {exc}", source=source) from exc
    if not alerts:
        raise ParseError(f"{fmt} document holds no alert", source=source)
    return [bound_alert(a, source=source) for a in alerts]  # text bounds, one pass


def parse_one(data: bytes, *, source: str = "<bytes>", max_bytes: int = DEFAULT_MAX_BYTES) -> Alert:
    """Parse a message that must hold exactly one alert (what ingest expects)."""
    alerts = parse(data, source=source, max_bytes=max_bytes)
    if len(alerts) != 1:
        raise ParseError(f"expected one alert, found {len(alerts)}", source=source)
    return alerts[0]


def _module(fmt: str):
    if fmt == "jmaxml":
        from lalert.parsers import jmaxml as m
    elif fmt == "commons":
        from lalert.parsers import commons as m
    else:
        from lalert.parsers import cap as m
    return m
