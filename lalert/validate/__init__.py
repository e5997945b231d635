"""``validate(data, source)``: is this message well-formed *and* complete?

Parsing is lenient (lalert reads what it can); validation is strict and says where a
message breaks its format's rules: CAP against the OASIS XSD plus the rules the XSD
cannot express, Atom / RSS feeds of CAP against their required elements, JMA and Commons
against the elements lalert and the format need. Pure: bytes in, problems out (the XSD
is read from disk once, see ``lalert.validate.cap.cap_schema``).
"""

from __future__ import annotations

from lalert.parsers.detect import detect
from lalert.parsers.xmlsafe import DEFAULT_MAX_BYTES, ParseError, parse_xml
from lalert.validate.problem import Problem, is_valid

__all__ = ["Problem", "validate", "is_valid"]


def validate(data: bytes, source: str = "<bytes>", *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Problem]:
    """Every problem found in one message or feed (an empty list means valid)."""
    try:
        root = parse_xml(data, source=source, max_bytes=max_bytes)
        fmt = detect(root, source=source)
    except ParseError as exc:
        return [Problem(exc.line, "", exc.reason)]
    if fmt == "cap":
        from lalert.validate import cap as mod
    elif fmt == "commons":
        from lalert.validate import commons as mod
    else:
        from lalert.validate import jma as mod
    return mod.check(root, raw=data, source=source)
