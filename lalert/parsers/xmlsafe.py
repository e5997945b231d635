"""The one place lalert turns bytes into an XML tree.

lxml is configured to resolve no entities, load no DTD, touch no network and keep
its own tree-size guards on; a byte bound is checked before parsing. A document that
declares a DTD at all is refused: none of the formats lalert reads uses one, and a DTD
is how billion-laughs and XXE arrive (an entity can only be declared inside one).

Whether a document has a DTD is decided by the parser itself, not by searching bytes:
a first pass with the same parser settings reads only the prolog (a target object is
told of a ``<!DOCTYPE`` and stops the parse at the root element), so the rule holds in
whatever encoding libxml2 reads the document — UTF-8, UTF-16 or UTF-32, with or without
a byte-order mark. Encodings libxml2 cannot read (EBCDIC in this build) are refused
outright. After the real parse, the tree's ``docinfo`` is checked once more.
"""

from __future__ import annotations

import re
import threading

from lxml import etree

from lalert.vocab.limits import TRUNCATION_MARKER

DEFAULT_MAX_BYTES = 10 * 1024 * 1024


# A reason quotes what it could not read; the journal keeps it and the public history
# and message status serve it, so a 2 MB "coordinate pair" must not become a 2 MB reason
# (500 such rows in one history page). Cut like message text (``lalert.vocab.limits``).
REASON_MAX = 1_000


class ParseError(ValueError):
    """A message that cannot be read, with where and why (``reason`` at most
    ``REASON_MAX`` characters)."""

    def __init__(self, reason: str, *, source: str = "<bytes>", line: int | None = None):
        if len(reason) > REASON_MAX:
            reason = reason[: REASON_MAX - len(TRUNCATION_MARKER)] + TRUNCATION_MARKER
        self.reason = reason
        self.source = source
        self.line = line
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {reason}")

    def to_dict(self) -> dict[str, object]:
        return {"source": self.source, "line": self.line, "reason": self.reason}


_PARSER_OPTS = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
    recover=False,
)

_DECL_ENC = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
DTD_REASON = ("document type declarations (DTD / ENTITY) are not accepted: "
              "they can expand entities or fetch external files")


class _HasDTD(Exception):
    pass


class _RootReached(Exception):
    pass


class _Prolog:
    """lxml parser target that sees the prolog only: a DOCTYPE, or the root element."""

    def doctype(self, name: str, public_id: str | None, system_url: str | None) -> None:
        raise _HasDTD(name)

    def start(self, tag: str, attrib: object, nsmap: object = None) -> None:
        raise _RootReached(tag)

    def end(self, tag: str) -> None:
        pass

    def data(self, data: str) -> None:
        pass

    def close(self) -> None:
        return None


# XML 1.0 Appendix F: how a parser tells the encoding family from the first bytes. Used
# only to say on which line a DTD (already found by the parser) starts.
_FAMILY = ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
           (b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"),
           (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"),
           (b"\x00<\x00?", "utf-16-be"), (b"<\x00?\x00", "utf-16-le"))


def _doctype_line(data: bytes) -> int | None:
    enc = next((e for head, e in _FAMILY if data.startswith(head)), "latin-1")
    text = data.decode(enc, "replace")
    at = text.find("<!DOCTYPE")
    return text.count("\n", 0, at) + 1 if at >= 0 else None


_PROLOG_CHUNK = 1024  # first bytes fed to the prolog pass; doubled while no root is seen


def _refuse_dtd(data: bytes, source: str) -> None:
    """Raise ``ParseError`` when the parser reads a DOCTYPE before the root element.

    The bytes are first *fed* to the parser in growing chunks: the prolog of a telegram
    ends within its first kilobyte, so the pass stops there instead of reading the whole
    message as ``fromstring`` does (a fifth of the parse time of a JMA telegram). When
    the incremental parser cannot decide (it reads UTF-32 with a byte-order mark less
    well, and malformed prologs), the whole-document prolog pass decides as before.
    Either way the parser decides (encodings, BOM, comments before the DOCTYPE), never a
    byte search.
    """
    parser = _prolog_parser()
    try:
        start, step, end = 0, _PROLOG_CHUNK, len(data)
        while start < end:
            parser.feed(data[start:start + step])
            start += step
            step *= 2
        parser.close()
    except _HasDTD:
        _reset(parser)
        raise ParseError(DTD_REASON, source=source, line=_doctype_line(data)) from None
    except _RootReached:
        _reset(parser)
        return
    except (etree.XMLSyntaxError, ValueError, LookupError):
        _reset(parser)
    _refuse_dtd_whole(data, source)


_local = threading.local()


def _prolog_parser() -> etree.XMLParser:
    """This thread's prolog parser. Making one costs more than the pass itself on a small
    telegram, and a feed parser is ready for the next document once ``close()`` has
    ended the last one (``_reset``). Should a reused parser ever misread, it can only
    fail towards the whole-document pass below and the ``docinfo`` check after the real
    parse, both made with fresh parsers."""
    parser = getattr(_local, "prolog", None)
    if parser is None:
        parser = _local.prolog = etree.XMLParser(**_PARSER_OPTS, target=_Prolog())
    return parser


def _reset(parser: etree.XMLParser) -> None:
    """End the document the parser stopped in, so the next one starts afresh."""
    try:
        parser.close()
    except Exception:  # noqa: BLE001, S110 (an unfinished document is expected to complain)
        pass


def _refuse_dtd_whole(data: bytes, source: str) -> None:
    """The prolog pass over the document in one ``fromstring`` call."""
    try:
        etree.fromstring(data, parser=etree.XMLParser(**_PARSER_OPTS, target=_Prolog()))
    except _HasDTD:
        raise ParseError(DTD_REASON, source=source, line=_doctype_line(data)) from None
    except _RootReached:
        return
    except etree.XMLSyntaxError as exc:
        if "EBCDIC" in str(exc):
            raise ParseError("EBCDIC-encoded XML is not accepted (use UTF-8, UTF-16 or "
                             "Shift_JIS)", source=source, line=1) from None
        return  # not well-formed: the real parse below says where and why
    except (ValueError, LookupError):
        return


def _parser(drop_blank_text: bool = False) -> etree.XMLParser:
    # A fresh parser per call: lxml parsers are not thread-safe and keep error logs.
    return etree.XMLParser(**_PARSER_OPTS, remove_blank_text=drop_blank_text)


def parse_xml(
    data: bytes | str, *, source: str = "<bytes>", max_bytes: int = DEFAULT_MAX_BYTES,
    drop_blank_text: bool = False,
) -> etree._Element:
    """Parse ``data`` safely and return the root element, or raise ``ParseError``.

    ``drop_blank_text`` leaves out whitespace-only text between elements (the
    indentation of pretty-printed telegrams): a quarter fewer nodes to build and to
    walk. The format parsers read leaves and never that indentation; keep the default
    when the tree is serialised again.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
        data = re.sub(rb"^(\s*<\?xml[^>]*?)encoding\s*=\s*[\"'][^\"']*[\"']", rb"\1", data, count=1)
    if len(data) > max_bytes:
        raise ParseError(
            f"message is {len(data):,} bytes, over the {max_bytes:,}-byte bound", source=source
        )
    if not data or data.isspace():  # (strip() would copy the whole message)
        raise ParseError("empty message", source=source)
    _refuse_dtd(data, source)
    m = _DECL_ENC.match(data)
    if m:
        enc = m.group(1).decode("ascii")
        try:
            "".encode(enc)
        except LookupError:
            raise ParseError(f"unknown declared encoding {enc!r}", source=source, line=1) from None
    try:
        root = etree.fromstring(data, parser=_parser(drop_blank_text))
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if getattr(exc, "lineno", None) else None
        msg = str(exc.msg if hasattr(exc, "msg") else exc)
        if "encoding" in msg.lower() or "bytes" in msg.lower() and "utf" in msg.lower():
            msg = f"bytes do not match the declared encoding: {msg}"
        raise ParseError(f"not well-formed XML: {msg}", source=source, line=line) from None
    except (ValueError, LookupError) as exc:
        raise ParseError(f"unreadable XML: {exc}", source=source) from None
    if root is None:
        raise ParseError("no root element", source=source)
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.system_url or info.public_id:
        raise ParseError(DTD_REASON, source=source)  # what the full parse read, once more
    return root


def local(tag: object) -> str:
    """Local name of an element tag (``{ns}Name`` → ``Name``)."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def ns(tag: object) -> str:
    """Namespace URI of an element tag, or ''."""
    if isinstance(tag, str) and tag.startswith("{"):
        return tag[1:].split("}", 1)[0]
    return ""


def text(el: etree._Element | None) -> str | None:
    """Stripped text of an element (its descendants' too), None for missing or empty."""
    if el is None:
        return None
    t = el.text if len(el) == 0 else "".join(el.itertext())
    if t is None:
        return None
    t = t.strip()
    return t or None


# Child lookups use ``iterchildren("{*}name")``, which filters in C (``find`` goes through
# lxml's Python ElementPath) and matches the local name in any (or no) namespace: the
# formats spread one document over several namespaces, and new ones appear.


def child(el: etree._Element | None, name: str) -> etree._Element | None:
    """First child with this local name, whatever its namespace."""
    if el is None:
        return None
    for c in el.iterchildren("{*}" + name):
        return c
    return None


def children(el: etree._Element | None, name: str) -> list[etree._Element]:
    if el is None:
        return []
    return list(el.iterchildren("{*}" + name))


def path(el: etree._Element | None, *names: str) -> etree._Element | None:
    """Walk children by local names: ``path(root, "Head", "Headline", "Text")``."""
    for n in names:
        el = child(el, n)
        if el is None:
            return None
    return el


def path_text(el: etree._Element | None, *names: str) -> str | None:
    return text(path(el, *names))


def descendants(el: etree._Element | None, name: str) -> list[etree._Element]:
    if el is None:
        return []
    return list(el.iter("{*}" + name))
