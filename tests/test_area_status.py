"""Per-area status (``Area.status``) against an independent reading of the same telegrams.

The expected statuses come from plain lxml XPath over the corpus files, not from the
parser's helpers: for 土砂災害警戒情報 (VXWW50) each Item's Kind/Status, for 気象警報・
注意報 (VPWW50, 53–61) every Kind/Status of an area in the finest （市町村等） section and
the 高潮予報区間 section. An area is active when any status there is not 解除 / なし.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from lalert.lifecycle import Lifecycle
from lalert.model import Alert, Area, Evacuation
from lalert.parsers import parse
from lalert.schema import validation_errors
from tests.conftest import CORPUS, ROOT, corpus_files

FILES = corpus_files("xml/jma", "*VXWW50.xml", "*VPWW5*.xml")
OFF = {"解除": "lifted", "なし": "none", "発表警報・注意報はなし": "none"}
NOW = datetime(2030, 1, 1, tzinfo=UTC)  # long after every sample: only ``cleared`` decides


def _x(el, path: str) -> list:
    return el.xpath(path)


def expected_statuses(path: Path) -> dict[str, str]:
    """Area code → active | lifted | none, read with XPath only."""
    tree = etree.parse(str(path))
    sections = _x(tree, "/*[local-name()='Report']/*[local-name()='Body']/*[local-name()='Warning']"
                        "[@type='土砂災害警戒情報' or substring(@type, string-length(@type) - 5)='（市町村等）'"
                        " or contains(@type, '高潮予報区間')]")
    words: dict[str, list[str]] = defaultdict(list)
    for section in sections:
        for item in _x(section, "./*[local-name()='Item']"):
            statuses = [s.strip() for s in _x(item, "./*[local-name()='Kind']/*[local-name()='Status']/text()")]
            codes = _x(item, "./*[local-name()='Area']/*[local-name()='Code']/text()"
                             " | ./*[local-name()='Areas']/*[local-name()='Area']/*[local-name()='Code']/text()")
            for code in codes:
                words[code.strip()].extend(statuses)
    out = {}
    for code, ws in words.items():
        if any(w not in OFF for w in ws):
            out[code] = "active"
        elif "解除" in ws:
            out[code] = "lifted"
        else:
            out[code] = "none"
    return out


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_area_status_matches_an_xpath_reading(path):
    expected = expected_statuses(path)
    assert expected, "the telegram names areas with a status"
    alert = parse(path.read_bytes())[0]
    got = {a.code: a.status for a in alert.areas if a.code in expected}
    assert got == expected
    # every other area (府県予報区, coarser summary rows) is scope: never under alert itself
    others = {a.status for a in alert.areas if a.code not in expected}
    assert others <= {"scope"}
    assert {a.code for a in alert.active_areas()} == {c for c, s in expected.items() if s == "active"}
    assert alert.cleared == (not any(s == "active" for s in expected.values()))
    assert validation_errors(alert.to_dict()) == []


def test_landslide_labels_keep_the_source_word():
    alert = parse((CORPUS / "xml/jma/17_01_01_190529_VXWW50.xml").read_bytes())[0]
    by_name = {a.name: a for a in alert.areas}
    assert (by_name["北九州市"].status, by_name["北九州市"].status_label) == ("active", "継続")
    assert (by_name["福岡市"].status, by_name["福岡市"].status_label) == ("lifted", "解除")
    assert by_name["福岡県"].status == "scope"
    assert sum(a.status == "active" for a in alert.areas) == 25


@pytest.mark.parametrize("first,clear", [
    ("17_02_02_190529_VXWW50.xml", "17_02_03_190529_VXWW50.xml"),  # 渡島・檜山 警戒 → 解除 / なし
    ("17_04_02_250630_VXWW50.xml", "17_04_03_250630_VXWW50.xml"),  # 神奈川 (R06 names)
    ("15_08_04_160628_VPWW53.xml", "15_08_05_130412_VPWW53.xml"),  # 奈良 warnings → all 解除 / なし
])
def test_a_telegram_then_its_all_clear_leaves_nothing_in_force(corpus, first, clear):
    lc = Lifecycle()
    a = parse((corpus / "xml/jma" / first).read_bytes())[0]
    b = parse((corpus / "xml/jma" / clear).read_bytes())[0]
    assert lc.apply(a, now=NOW).outcome == "active"
    applied = lc.apply(b, now=NOW)
    assert applied.outcome == "lifted"
    assert [(t.kind, t.reason) for t in applied.transitions] == [("withdrawn", "lifted")]
    assert lc.active() == []


def _evac(action: str, code: str) -> Evacuation:
    return Evacuation(order="evacuation_order", action=action, area_code=code, level=4)


def test_commons_order_statuses_follow_issue_or_lift(corpus):
    raw = (corpus / "xml/commons/publiccommons-py_soap1.xml").read_bytes()
    alert = parse(raw)[0]
    chome = [a for a in alert.areas if a.scheme == "commons.chome"]
    assert chome and all(a.status == "active" and a.status_label == "発令" for a in chome)
    # the municipality the order is addressed to is its scope, not an area under the order
    assert {a.status for a in alert.areas if a.scheme == "lg_code"} <= {"scope"}


def test_cap_areas_are_active_and_old_json_reads_as_active():
    doc = Alert(format="cap", id="x", info_type="issue", status="actual", kind="other", title="t",
                issued_at="2026-01-01T00:00:00+09:00", raw_sha256="0" * 64,
                areas=(Area(code=None, scheme="name", name="somewhere"),)).to_dict()
    assert doc["areas"][0]["status"] == "active"
    for a in doc["areas"]:
        del a["status"], a["status_label"]  # a lalert.alert/1 document from before 1.1
    assert validation_errors(doc) == []
    assert Alert.from_dict(doc).active_areas()[0].name == "somewhere"


def test_a_cancel_has_no_active_area():
    a = Alert(format="cap", id="x", info_type="cancel", status="actual", kind="other", title="t",
              issued_at="2026-01-01T00:00:00+09:00", raw_sha256="0" * 64,
              areas=(Area(code=None, scheme="name", name="somewhere"),))
    assert a.active_areas() == ()


@pytest.mark.parametrize("name", ["canada.cap", "earthquake.cap", "43b080713727.cap"])
def test_cap_areas_from_the_corpus_are_active(corpus, name):
    alert = parse((corpus / "xml/cap" / name).read_bytes())[0]
    assert alert.areas and all(a.status == "active" for a in alert.areas)
    assert alert.active_areas() == alert.areas and not alert.cleared


def test_web_push_names_only_places_under_alert():
    from lalert.outputs.webpush.output import payload

    alert = parse((CORPUS / "xml/jma/17_01_01_190529_VXWW50.xml").read_bytes())[0]
    body = {**alert.to_dict(), "change": {"kind": "new"}}
    place = payload(body, "{base_url}/a/{id}", "http://127.0.0.1")["place"]
    assert "北九州市" in place  # 継続
    assert "福岡市" not in place.split("、") and "福岡県" not in place  # 解除, scope


def test_the_schema_rejects_an_unknown_area_status():
    alert = parse((CORPUS / "xml/jma/17_01_01_190529_VXWW50.xml").read_bytes())[0]
    doc = alert.to_dict()
    doc["areas"][0]["status"] = "maybe"
    assert any("/areas/0/status" in e for e in validation_errors(doc))


def test_commons_lifted_order_areas_are_lifted_and_clear_the_alert():
    raw = (ROOT / "lalert/demo/messages/20_commons_evacuation_order_kumamoto.xml").read_bytes()
    issued = parse(raw)[0]
    # the first Detail (three 町丁目) lifted, the second (南区 川尻) still in force
    first = raw.replace("<pcx_ev:IssueOrLift>発令</pcx_ev:IssueOrLift>".encode(),
                        "<pcx_ev:IssueOrLift>解除</pcx_ev:IssueOrLift>".encode(), 1)
    part = parse(first)[0]
    status = {a.name: a.status for a in part.areas}
    assert status == {"熊本県熊本市": "scope", "北区 龍田陳内": "lifted", "中央区 黒髪": "lifted",
                      "東区 秋津": "lifted", "南区 川尻": "active"}
    assert not part.cleared
    everything = parse(raw.replace("<pcx_ev:IssueOrLift>発令</pcx_ev:IssueOrLift>".encode(),
                                   "<pcx_ev:IssueOrLift>解除</pcx_ev:IssueOrLift>".encode()))[0]
    assert everything.cleared and everything.active_areas() == ()
    assert {a.name for a in issued.active_areas()} == {"北区 龍田陳内", "中央区 黒髪", "東区 秋津", "南区 川尻"}
