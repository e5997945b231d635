"""One DTD rule for every encoding: the parser, not a byte search, decides.

The same XXE document is refused in UTF-8, UTF-16 and UTF-32 (with and without a byte
order mark) with the DTD reason and its line; in EBCDIC (which this libxml2 cannot read)
it is refused too, with a reason naming EBCDIC. The same message without a DTD is read
in every Unicode encoding, so what is refused is the DTD, not the encoding.
"""

from __future__ import annotations

import pytest

from lalert.parsers import ParseError, parse
from tests.daemon_helpers import cap

CAP12 = "urn:oasis:names:tc:emergency:cap:1.2"
XXE = ('<?xml version="1.0" encoding="{enc}"?>\n'
       '<!DOCTYPE alert [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
       f'<alert xmlns="{CAP12}"><identifier>&x;</identifier></alert>')
EXTERNAL = ('<?xml version="1.0" encoding="{enc}"?>\n'
            '<!DOCTYPE alert SYSTEM "http://127.0.0.1:9/cap.dtd">\n'
            f'<alert xmlns="{CAP12}"><identifier>a</identifier></alert>')
# (declared encoding, Python codec): the codec decides BOM or not
UNICODE = [("UTF-8", "utf-8"), ("UTF-16", "utf-16"), ("UTF-16", "utf-16-le"),
           ("UTF-16", "utf-16-be"), ("UTF-32", "utf-32"), ("UTF-32", "utf-32-le"),
           ("UTF-32", "utf-32-be")]
IDS = ["utf8", "utf16-bom", "utf16le-nobom", "utf16be-nobom", "utf32-bom", "utf32le-nobom",
       "utf32be-nobom"]


@pytest.mark.parametrize("doc", [XXE, EXTERNAL], ids=["xxe", "external"])
@pytest.mark.parametrize("declared,codec", UNICODE, ids=IDS)
def test_dtd_is_refused_in_every_unicode_encoding(doc, declared, codec):
    with pytest.raises(ParseError) as e:
        parse(doc.format(enc=declared).encode(codec), source="x.xml")
    assert "DTD" in e.value.reason and "not accepted" in e.value.reason
    assert e.value.line == 2


@pytest.mark.parametrize("declared,codec", UNICODE, ids=IDS)
def test_the_same_message_without_dtd_is_read(declared, codec):
    text = cap("enc-ok").decode("utf-8").replace('encoding="UTF-8"', f'encoding="{declared}"')
    (a,) = parse(text.encode(codec))
    assert a.id == "enc-ok" and a.headline == "熊本市に避難指示（テスト用）"


@pytest.mark.parametrize("codec", ["cp500", "cp037"])
def test_ebcdic_is_refused_with_a_clear_reason(codec):
    for doc in (XXE, EXTERNAL):
        with pytest.raises(ParseError) as e:
            parse(doc.format(enc="IBM500" if codec == "cp500" else "IBM037").encode(codec))
        assert "EBCDIC" in e.value.reason or "DTD" in e.value.reason


def test_a_dtd_after_a_bom_and_whitespace_is_still_seen():
    doc = "\ufeff  " + XXE.format(enc="UTF-8").split("\n", 1)[1]
    with pytest.raises(ParseError) as e:
        parse(doc.encode("utf-8"))
    assert "DTD" in e.value.reason


def test_every_message_of_a_mixed_sequence_is_judged_on_its_own():
    """One thread reads many messages in turn (the prolog pass reuses its parser): a DTD
    after a good, a malformed or a truncated message is still refused, and a good one after
    a refused one is still read — nothing of one message carries into the next."""
    good = cap("seq-1")
    dtd = XXE.format(enc="UTF-8").encode("utf-8")
    utf16 = XXE.format(enc="UTF-16").encode("utf-16")
    broken = b"<alert xmlns='" + CAP12.encode() + b"'><identifier>"
    for _ in range(3):
        for data, refused in ((good, False), (dtd, True), (good, False), (broken, True),
                              (dtd, True), (utf16, True), (b"garbage", True), (good, False),
                              (good[: len(good) // 2], True), (dtd, True)):
            if refused:
                with pytest.raises(ParseError) as exc:
                    parse(data)
                if data in (dtd, utf16):
                    assert "DTD" in exc.value.reason
            else:
                assert parse(data)[0].id
