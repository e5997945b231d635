"""Hostile and broken input: every case ends in a ParseError that names the problem,
and no parser ever opens a network connection."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lalert.parsers import ParseError, parse
from lalert.parsers.xmlsafe import parse_xml
from tests.conftest import corpus_files

CAP12 = "urn:oasis:names:tc:emergency:cap:1.2"


class Listener:
    """A TCP listener on loopback that counts connection attempts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        self._stop = False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.hits += 1
            conn.close()

    def close(self) -> None:
        self._stop = True
        self._t.join(1)
        self.sock.close()


@pytest.fixture
def listener():
    lst = Listener()
    yield lst
    lst.close()


def _rejects(data: bytes, *words: str) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse(data, source="hostile.xml")
    msg = str(info.value)
    assert msg.startswith("hostile.xml"), msg
    for w in words:
        assert w.lower() in msg.lower(), msg
    return info.value


def test_xxe_file_entity_is_refused(listener):
    doc = f"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<alert xmlns="{CAP12}"><identifier>&xxe;</identifier></alert>""".encode()
    err = _rejects(doc, "DTD")
    assert err.line == 2
    assert listener.hits == 0


def test_xxe_network_entity_makes_no_connection(listener):
    doc = f"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY xxe SYSTEM "http://127.0.0.1:{listener.port}/x">]>
<alert xmlns="{CAP12}"><identifier>&xxe;</identifier></alert>""".encode()
    _rejects(doc, "DTD")
    assert listener.hits == 0


def test_external_dtd_is_not_fetched(listener):
    doc = f"""<?xml version="1.0"?>
<!DOCTYPE Report SYSTEM "http://127.0.0.1:{listener.port}/jmx.dtd">
<Report xmlns="http://xml.kishou.go.jp/jmaxml1/"/>""".encode()
    _rejects(doc, "DTD")
    assert listener.hits == 0


def test_billion_laughs_is_refused():
    ents = "".join(
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    doc = f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY l0 "lol">{ents}]><lolz>&l9;</lolz>'
    _rejects(doc.encode(), "DTD")


def test_schema_location_and_xinclude_are_not_followed(listener):
    url = f"http://127.0.0.1:{listener.port}"
    doc = f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="{CAP12}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:xi="http://www.w3.org/2001/XInclude" xsi:schemaLocation="{CAP12} {url}/cap.xsd">
  <xi:include href="{url}/inc.xml"/>
  <identifier>x</identifier></alert>""".encode()
    try:
        parse(doc, source="hostile.xml")
    except ParseError:
        pass  # rejecting it is fine; fetching is not
    assert listener.hits == 0


def test_oversize_is_refused_before_parsing():
    doc = b"<feed xmlns='http://www.w3.org/2005/Atom'>" + b" " * 2048 + b"</feed>"
    with pytest.raises(ParseError, match="over the 1,024-byte bound"):
        parse(doc, source="big.xml", max_bytes=1024)


def test_empty_input():
    _rejects(b"   \n", "empty")


def test_not_xml():
    _rejects(b"HTTP/1.1 200 OK\r\n\r\nhello", "not well-formed")


def test_wrong_namespace_names_the_root():
    doc = b'<?xml version="1.0"?>\n<Report xmlns="http://example.invalid/other"><Head/></Report>'
    err = _rejects(doc, "unknown document", "Report", "example.invalid")
    assert err.line == 2


def test_unknown_declared_encoding():
    _rejects(b'<?xml version="1.0" encoding="x-no-such-enc"?><a/>', "encoding")


def test_utf8_bytes_declared_shift_jis_do_not_pass_silently():
    body = '<?xml version="1.0" encoding="Shift_JIS"?><a>避難指示を発令しました。ただちに避難</a>'
    data = body.encode("utf-8")
    try:
        root = parse_xml(data, source="enc.xml")
    except ParseError as exc:
        assert "enc.xml" in str(exc)
    else:  # if it decodes at all, it cannot decode to the original text
        assert root.text != "避難指示を発令しました。ただちに避難"


def test_shift_jis_bytes_declared_utf8_are_refused():
    data = '<?xml version="1.0" encoding="UTF-8"?><a>避難所を開設</a>'.encode("shift_jis")
    _rejects(data, "encoding")


def test_shift_jis_declared_xml_decodes():
    data = '<?xml version="1.0" encoding="Shift_JIS"?>\n<a>熊本市 避難所を開設</a>'.encode("shift_jis")
    assert parse_xml(data).text == "熊本市 避難所を開設"


def test_shift_jis_jma_message_parses_like_utf8(corpus):
    src = (corpus / "xml/jma/15_08_01_130412_VPWW53.xml").read_text("utf-8")
    sjis = src.replace('encoding="UTF-8"', 'encoding="Shift_JIS"').encode("cp932")
    a, b = parse(src.encode("utf-8"))[0], parse(sjis)[0]
    assert a.title == b.title and a.areas == b.areas and a.headline == b.headline


def test_truncated_corpus_file_names_a_line(corpus):
    data = (corpus / "xml/jma/32-35_08_02_100915_VXSE51.xml").read_bytes()
    err = _rejects(data[: len(data) // 2], "not well-formed")
    assert err.line and err.line > 1


# --- property-based: mutated and truncated corpus files -----------------------------

SAMPLES = [
    p.read_bytes()
    for p in (
        corpus_files("xml/jma", "15_16_01_*.xml", "17_01_01_*.xml", "32-35_01_03_*.xml",
                     "32-39_11_02_*.xml", "45_01_01_*.xml")
        + corpus_files("xml/commons", "publiccommons-py_soap1.xml", "publiccommons-py_sample1.xml")
        + corpus_files("xml/cap", "weather.cap", "earthquake.atom")
    )
]


def _mutate(data: bytes, ops: list[tuple[int, int, int]]) -> bytes:
    buf = bytearray(data)
    for kind, pos, val in ops:
        if not buf:
            break
        i = pos % len(buf)
        if kind == 0:
            buf[i] = val
        elif kind == 1:
            del buf[i : i + (val % 64) + 1]
        elif kind == 2:
            buf[i:i] = bytes([val]) * ((val % 7) + 1)
        else:
            del buf[i:]
    return bytes(buf)


@pytest.mark.skipif(not SAMPLES, reason="corpus not found (set LALERT_CORPUS)")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.integers(min_value=0, max_value=max(len(SAMPLES) - 1, 0)),
    ops=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 10**7), st.integers(0, 255)), min_size=1, max_size=6
    ),
)
def test_mutated_corpus_gives_alert_or_parse_error(which, ops):
    data = _mutate(SAMPLES[which], ops)
    try:
        alerts = parse(data, source="mutant.xml")
    except ParseError as exc:
        assert exc.reason
    else:
        assert alerts and all(a.id and a.raw_sha256 for a in alerts)


@pytest.mark.skipif(not SAMPLES, reason="corpus not found (set LALERT_CORPUS)")
@settings(max_examples=150, deadline=None)
@given(which=st.integers(min_value=0, max_value=max(len(SAMPLES) - 1, 0)), cut=st.floats(0, 1))
def test_truncated_corpus_gives_alert_or_parse_error(which, cut):
    data = SAMPLES[which]
    data = data[: int(len(data) * cut)]
    try:
        parse(data, source="cut.xml")
    except ParseError as exc:
        assert exc.reason


def test_parse_error_is_a_value_error_with_fields():
    err = ParseError("bad", source="f.xml", line=3)
    assert isinstance(err, ValueError)
    assert err.to_dict() == {"source": "f.xml", "line": 3, "reason": "bad"}
    assert str(err) == "f.xml:3: bad"


def test_corpus_setting_points_at_real_files(corpus: Path):
    assert (corpus / "xml" / "jma").is_dir()


def test_jma_report_in_soap_publish_parses_as_the_report_itself():
    from lxml import etree

    from tests.daemon_helpers import soap_publish

    bare = (Path(__file__).resolve().parent.parent
            / "lalert/demo/messages/11_jma_landslide_kumamoto.xml").read_bytes()
    wrapped = soap_publish(bare)
    payload = parse_xml(wrapped).find(".//{http://xml.kishou.go.jp/jmaxml1/}Report")
    alone = etree.tostring(payload, encoding="utf-8", xml_declaration=True)
    (a,) = parse(wrapped, source="soap.xml")
    assert a == parse(alone)[0]  # same id and fields as the Report as its own document
    assert a.kind == "landslide" and a.level == 4
