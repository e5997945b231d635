"""Issue 11 (outputs): who said what, the sender's advice, names once, one order, the region,
and a desk that speaks Japanese — through a real daemon and the real corpus.

The JMA telegram is a corpus 土砂災害警戒情報 (VXWW50, 福岡県, 北九州市 under 警戒) whose
＜とるべき措置＞ is the advice; the municipal one is the hand-made 熊本市 避難指示 example
(L-Alert EvacuationOrder with a ComplementaryInfo), re-dated to now so it is in force.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from lxml import etree
from lxml import html as lhtml

from lalert.config import parse_region
from lalert.model import Alert, Area, EnrichedAlert
from lalert.outputs.listing import RegionFilter, area_names, ordered
from lalert.parsers import parse
from lalert.server.sessions import hash_password
from lalert.vocab import levels
from tests.daemon_helpers import ROOT, Daemon, cap, start_daemon
from tests.push_fakes import WebhookReceiver

VXWW50 = "xml/jma/17_01_01_190529_VXWW50.xml"  # 福岡県 土砂災害警戒情報, 北九州市 警戒
MUNI = ROOT / "lalert" / "demo" / "messages" / "20_commons_evacuation_order_kumamoto.xml"
JMA_ADVICE = "少しでも安全な場所への速やかな避難を心がけてください"
MUNI_ADVICE = "浸水している道路や川沿いを避けてください"
PASSWORD = "correct horse battery"
OPERATOR = "suzuki"
TOKEN_NAME = "env"  # LALERT_INGEST_TOKEN's name: the sender column shows it


def municipal_now() -> bytes:
    """The 熊本市 避難指示 example with its times moved to now (valid for two days)."""
    now = datetime.now(UTC).astimezone().replace(microsecond=0)
    text = MUNI.read_text("utf-8")
    text = text.replace("2026-07-05T17:00:00+09:00", (now + timedelta(days=2)).isoformat())
    text = re.sub(r"2026-07-03T\d\d:\d\d:\d\d\+09:00", now.isoformat(), text)
    return text.encode()


def _visible(page: str) -> str:
    """The text a reader sees (no tags, scripts, attributes or raw-message blocks; nor the
    technical reasons — parse errors, connection errors — shown as the system gave them)."""
    doc = lhtml.fromstring(page)
    for bad in doc.xpath("//script|//style|//pre|//textarea|"
                         "//*[contains(concat(' ', @class, ' '), ' reason ')]"):
        bad.drop_tree()
    return doc.text_content()


# --- the one vocabulary -----------------------------------------------------------------


def test_labels_say_who_said_it():
    assert levels.label(4, "landslide", ("landslide",), "ja") == "警戒レベル4相当情報［土砂災害］"
    assert "level 4 equivalent" in levels.label(4, "landslide", ("landslide",), "en")
    assert levels.label(4, "evacuation", (), "ja") == "警戒レベル4 避難指示"
    assert levels.label(5, "evacuation", (), "en") == "Alert level 5 — Emergency safety measures"
    for kind in ("landslide", "river_flood", "weather_warning", "tsunami", "other"):
        for lv in (3, 4, 5):
            for lang in ("ja", "en"):
                text = levels.label(lv, kind, ("landslide", "flood"), lang) or ""
                assert "相当" in text or "equivalent" in text, (kind, lv, lang)
                for n in (3, 4, 5):
                    assert levels.LEVEL_NAMES[n][0] not in text and levels.LEVEL_NAMES[n][1] not in text


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_signage_catalogues_spell_levels_as_the_vocabulary(lang):
    """Signage translates the vocabulary's msgids to the words the vocabulary itself gives
    (one catalogue), and in Japanese the msgid is the term."""
    from lalert.outputs.signage.i18n import tr

    for n in range(1, 6):
        assert tr(lang, levels.LEVEL_NAMES[n]) == levels.level_name(n, levels.ORDER, lang)
        assert tr(lang, levels.LEVEL_ACTIONS[n]) == levels.action(n, lang)
        if lang == "ja":
            assert tr(lang, levels.LEVEL_NAMES[n]) == levels.LEVEL_NAMES[n]
    for src in levels.SOURCES:
        assert tr(lang, levels.BADGES[src]) % {"n": 4} == levels.badge(4, src, lang)


# --- order, names, region (pure) ----------------------------------------------------------


def _ea(aid: str, level: int | None, issued: str, areas=(), footprint=None) -> EnrichedAlert:
    a = Alert(format="cap", id=aid, info_type="issue", status="actual", kind="general",
              title=aid, issued_at=issued, raw_sha256="0" * 64, level=level, areas=areas)
    return EnrichedAlert(alert=a, areas=areas, footprint=footprint)


def test_one_order_level_then_newest():
    old5 = _ea("old5", 5, "2010-03-14T17:00:00+09:00")
    new3 = _ea("new3", 3, "2026-07-01T10:00:00+09:00")
    new3_later = _ea("new3-later", 3, "2026-07-01T01:30:00Z")  # 10:30 JST: newer than new3
    none = _ea("none", None, "2026-07-02T00:00:00+09:00")
    got = [e.id for e in ordered([none, new3, old5, new3_later])]
    assert got == ["old5", "new3-later", "new3", "none"]


def test_information_without_a_level_ranks_by_its_severity():
    """A 大津波警報 has no 警戒レベル but is Extreme: it must not sink below a 注意報."""
    import dataclasses

    l2 = _ea("advisory-l2", 2, "2026-07-01T10:00:00+09:00")
    l4 = _ea("landslide-l4", 4, "2026-07-01T09:00:00+09:00")
    tsunami = _ea("major-tsunami", None, "2026-07-01T08:00:00+09:00")
    tsunami = dataclasses.replace(tsunami, alert=dataclasses.replace(tsunami.alert,
                                                                      severity="Extreme"))
    quiet = _ea("distant-quake", None, "2026-07-01T11:00:00+09:00")  # severity Unknown
    got = [e.id for e in ordered([quiet, l2, l4, tsunami])]
    assert got == ["major-tsunami", "landslide-l4", "advisory-l2", "distant-quake"]


def test_area_names_once_per_place():
    same = (Area("431001", "lg_code", "熊本市"), Area("4310000", "jma.city", "熊本市"),
            Area("43100", "n03", "熊本市"), Area("432041", "lg_code", "荒尾市"))
    assert area_names(same) == ["熊本市", "荒尾市"]


def test_region_by_prefecture_codes_and_bbox():
    kumamoto = _ea("k", 4, "2026-07-01T10:00:00+09:00", (Area("4310000", "jma.city", "熊本市"),))
    fukuoka = _ea("f", 4, "2026-07-01T10:00:00+09:00", (Area("4010000", "jma.city", "北九州市"),))
    nowhere = _ea("n", 4, "2026-07-01T10:00:00+09:00", (Area("741", "jma.eq_region", "熊本県熊本"),))
    r = RegionFilter(parse_region(["43"]))
    assert [e.id for e in r.apply([fukuoka, kumamoto, nowhere])] == ["k", "n"]  # n: place unknown
    assert {e.id for e in r.apply([fukuoka, kumamoto], everything=True)} == {"k", "f"}
    sq = {"type": "Polygon", "coordinates": [[[130.6, 32.7], [130.8, 32.7], [130.8, 32.9],
                                              [130.6, 32.9], [130.6, 32.7]]]}
    in_box = _ea("b", 3, "2026-07-01T10:00:00+09:00", footprint=sq)
    bbox = RegionFilter(parse_region([130.0, 32.0, 131.5, 33.3]))
    assert bbox.covers(in_box) and not RegionFilter(parse_region([139.0, 35.0, 140.0, 36.0])).covers(in_box)
    with pytest.raises(ValueError):
        parse_region(["99"])
    assert parse_region([]) is None and parse_region("43,44").prefectures == ("43", "44")
    by_code = RegionFilter(parse_region(["jma.city:4310000"]))  # no geodata: codes decide
    assert by_code.covers(kumamoto) and not by_code.covers(fukuoka)
    with pytest.raises(ValueError):
        parse_region(["lg_code:"])


def test_region_setting_from_toml_and_environment(tmp_path):
    from lalert.config import load_config

    assert load_config(env={}, overrides={"home": str(tmp_path)}).region is None
    cfg = load_config(env={"LALERT_GEO__REGION": "43"}, overrides={"home": str(tmp_path)})
    assert cfg.region.prefectures == ("43",)
    toml = tmp_path / "l.toml"
    toml.write_text("[geo]\nregion = [129.9, 32.0, 131.4, 33.25]\n", "utf-8")
    assert load_config(toml, env={}).region.bbox == (129.9, 32.0, 131.4, 33.25)
    with pytest.raises(ValueError):
        load_config(env={"LALERT_GEO__REGION": "kumamoto"}, overrides={"home": str(tmp_path)})


# --- the advice reaches the model ------------------------------------------------------------


def test_instruction_from_corpus_and_municipal_messages(corpus: Path):
    jma = parse((corpus / VXWW50).read_bytes())[0]
    assert jma.instruction and JMA_ADVICE in jma.instruction
    assert "＜" not in jma.instruction  # sections' headings are not advice
    root = etree.parse(str(corpus / VXWW50)).getroot()
    headline = root.xpath("//*[local-name()='Head']/*[local-name()='Headline']/*[local-name()='Text']")[0].text
    advice = headline.split("＜とるべき措置＞")[1].split("＜")[0].strip()
    assert advice in jma.instruction
    muni = parse(municipal_now())[0]
    assert muni.instruction == "避難の際は、" + MUNI_ADVICE + "。"
    tsunami = parse((corpus / "xml/jma/32-39_11_13_250206_VTSE41.xml").read_bytes())[0]
    comment = root_text(corpus / "xml/jma/32-39_11_13_250206_VTSE41.xml",
                        "//*[local-name()='WarningComment']/*[local-name()='Text']")
    assert tsunami.instruction and comment.split("\n")[1] in tsunami.instruction
    volcano_file = corpus / "xml/jma/45_01_01_200522_VFVO50.xml"
    prevention = root_text(volcano_file, "//*[local-name()='VolcanoPrevention']").strip()
    assert prevention in parse(volcano_file.read_bytes())[0].instruction


def root_text(path: Path, xpath: str) -> str:
    return etree.parse(str(path)).getroot().xpath(xpath)[0].text


def test_instruction_is_in_the_json_schema():
    from lalert.schema import alert_schema, validation_errors

    muni = parse(municipal_now())[0]
    assert validation_errors(muni.to_dict()) == []
    assert "instruction" in alert_schema()["properties"]


# --- every output, through a real daemon --------------------------------------------------


@pytest.fixture(scope="module")
def truth_daemon(tmp_path_factory) -> Daemon:
    home = tmp_path_factory.mktemp("truth") / "home"
    config = f"""
[geo]
region = ["43"]

[push]
allow_destinations = ["127.0.0.0/8"]  # the test's webhook receiver is on loopback

[[desk.users]]
name = "{OPERATOR}"
password_hash = "{hash_password(PASSWORD)}"

[outputs.webhook]
base_delay_s = 0.05

[[outputs.signage.screens]]
id = "kitakyushu"
name = "北九州市役所"
areas = ["jma.city:4010000"]
languages = ["ja", "en"]
min_level = 3

[[outputs.signage.screens]]
id = "kumamoto"
name = "黒髪地区"
lat = 32.8164
lon = 130.7319
languages = ["ja", "en"]
min_level = 3
"""
    d = start_daemon(home, config_text=config,
                     outputs=["signage", "map", "feeds", "webhook", "sse"])
    yield d
    d.stop()


async def _subscribe(d: Daemon, rx: WebhookReceiver, path: str, where: dict) -> None:
    body = {"channel": "webhook", "url": rx.url(path), "where": where}
    status, _, raw = await asyncio.to_thread(
        d.request, "POST", "/api/v1/subscriptions", json.dumps(body).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {d.token}"})
    assert status == 201, raw
    rx.secrets[path] = json.loads(raw)["secret"]


@pytest.fixture(scope="module")
def posted(truth_daemon: Daemon, corpus: Path) -> dict:
    """Both messages and a level-2 CAP posted once, with the webhook bodies they caused."""
    d = truth_daemon

    async def run() -> dict:
        async with WebhookReceiver() as rx:
            await _subscribe(d, rx, "/jma", {"areas": [{"scheme": "jma.city", "code": "4010000"}]})
            # the order's own place (中央区 黒髪, a circle in the message): 熊本市 as a whole is
            # only the message's scope, not under the order
            await _subscribe(d, rx, "/muni", {"point": {"lat": 32.8164, "lon": 130.7319},
                                              "radius_m": 200})
            for data in ((corpus / VXWW50).read_bytes(), municipal_now(),
                         cap("truth-l2", level=2, sent=datetime.now(UTC).replace(
                             microsecond=0).isoformat(), headline="熊本市に大雨注意報（テスト用）")):
                status, body = await asyncio.to_thread(d.post, data)
                assert status == 202, body
            async with asyncio.timeout(30):
                while not (rx.bodies.get("/jma") and rx.bodies.get("/muni")):
                    await asyncio.sleep(0.05)
            assert rx.bad_signatures == 0
            return {"webhook": {k: v[0] for k, v in rx.bodies.items()}}

    out = asyncio.run(run())
    d.wait_applied()
    return out


def _desk_pages(d: Daemon, lang: str, paths: list[str]) -> dict[str, str]:
    async def run() -> dict[str, str]:
        async with aiohttp.ClientSession(d.url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            async with s.get("/desk/login") as r:
                token = re.search(r'name="csrf" value="([^"]+)"', await r.text()).group(1)
            r = await s.post("/desk/login", data={"csrf": token, "name": OPERATOR,
                                                  "secret": PASSWORD, "next": "/desk/"},
                             allow_redirects=False)
            assert r.status == 303
            out = {}
            for p in paths:
                sep = "&" if "?" in p else "?"
                async with s.get(f"{p}{sep}lang={lang}") as r:
                    assert r.status == 200, p
                    out[p] = await r.text()
            return out

    return asyncio.run(run())


def _texts(d: Daemon, lang: str = "ja") -> dict[str, str]:
    """Each output's rendering of everything in force (outside the region too)."""
    out = {}
    out["map"] = d.get(f"/map/data.json?lang={lang}&all=1")[2].decode()
    out["text"] = _visible(d.get(f"/text?lang={lang}&all=1")[2].decode())
    out["cap"] = d.get("/feeds/cap.atom?all=1")[2].decode()
    return out


def _alert_text(output: str, body: str, needle: str) -> str:
    """The part of an output's body about the alert whose title contains ``needle``."""
    if output == "map":
        data = json.loads(body)
        return json.dumps([p for p in data["list"] if needle in p["title"]], ensure_ascii=False)
    if output == "cap":
        feed = etree.fromstring(body.encode())
        ns = {"a": "http://www.w3.org/2005/Atom", "c": "urn:oasis:names:tc:emergency:cap:1.2"}
        alerts = [e for e in feed.xpath("//c:alert", namespaces=ns)
                  if needle in "".join(e.xpath(".//c:event/text()", namespaces=ns))]
        return "".join(etree.tostring(a, encoding="unicode") for a in alerts)
    parts = body.split("発表中の情報" if "発表中の情報" in body else "Alerts in force")[-1]
    chunks = [c for c in re.split(r"\n(?=警戒レベル|Alert level)", parts) if needle in c]
    return "\n".join(chunks)


def test_jma_is_equivalent_and_municipality_orders_on_every_output(truth_daemon, posted):
    d = truth_daemon
    outputs = _texts(d)
    jma_title = "福岡県土砂災害警戒情報"
    for name, body in outputs.items():
        jma = _alert_text(name, body, jma_title)
        muni = _alert_text(name, body, "熊本市")
        assert jma and muni, name
        assert "警戒レベル4相当情報［土砂災害］" in jma, name
        assert "避難指示" not in jma.replace("避難勧告などの", "").replace("避難指示などの", ""), name
        assert "警戒レベル4 避難指示" in muni, name
    en = d.get("/text?lang=en&all=1")[2].decode()
    assert "Alert level 4 equivalent information [Landslide]" in en
    assert "Alert level 4 — Evacuation instruction" in en
    cap_feed = outputs["cap"]
    assert "Alert level 4 equivalent information [Landslide]" in cap_feed
    # desk
    overview = _visible(_desk_pages(d, "ja", ["/desk/"])["/desk/"])
    assert "警戒レベル4相当情報［土砂災害］" in overview and "警戒レベル4 避難指示" in overview
    # signage: the badge says 相当 for JMA and never names an order
    jma_screen = d.get_json("/signage/kitakyushu.json")[1]
    assert jma_screen["main"]["level_equivalent"] is True
    assert jma_screen["text"]["ja"]["level"] == "警戒レベル4相当"
    assert "level_words" not in jma_screen["text"]["ja"]
    page = _visible(d.get("/signage/kitakyushu?lang=ja")[2].decode())
    assert "警戒レベル4相当" in page and "避難指示" not in page.replace("避難指示などの", "").replace("避難勧告などの", "")
    muni_screen = d.get_json("/signage/kumamoto.json")[1]
    assert muni_screen["main"]["level_equivalent"] is False
    assert muni_screen["text"]["ja"]["level"] == "警戒レベル4"
    assert muni_screen["text"]["ja"]["level_words"] == "避難指示"
    # webhook payloads
    jma_hook, muni_hook = posted["webhook"]["/jma"], posted["webhook"]["/muni"]
    assert jma_hook["level_label"]["source"] == "equivalent"
    assert jma_hook["level_label"]["ja"]["label"] == "警戒レベル4相当情報［土砂災害］"
    assert jma_hook["level_label"]["en"]["name"] is None
    assert muni_hook["level_label"]["source"] == "order"
    assert muni_hook["level_label"]["ja"]["label"] == "警戒レベル4 避難指示"


def test_advice_reaches_every_output(truth_daemon, posted):
    d = truth_daemon
    outputs = _texts(d)
    for name, body in outputs.items():
        assert JMA_ADVICE in _alert_text(name, body, "福岡県土砂災害警戒情報"), name
        assert MUNI_ADVICE in _alert_text(name, body, "熊本市"), name
    assert JMA_ADVICE in d.get("/signage/kitakyushu?lang=ja")[2].decode()
    assert MUNI_ADVICE in d.get_json("/signage/kumamoto.json")[1]["main"]["instruction"]
    assert JMA_ADVICE in posted["webhook"]["/jma"]["instruction"]
    assert MUNI_ADVICE in posted["webhook"]["/muni"]["instruction"]
    feed = etree.fromstring(outputs["cap"].encode())
    ns = {"c": "urn:oasis:names:tc:emergency:cap:1.2"}
    ja_instr = feed.xpath("//c:info[c:language='ja-JP']/c:instruction/text()", namespaces=ns)
    assert any(MUNI_ADVICE in t for t in ja_instr) and any(JMA_ADVICE in t for t in ja_instr)
    desk = _desk_pages(d, "ja", ["/desk/"])["/desk/"]
    assert MUNI_ADVICE in desk and JMA_ADVICE in desk


def test_names_once_headlines_once_and_one_order(truth_daemon, posted):
    d = truth_daemon
    data = d.get_json("/map/data.json?lang=ja&all=1")[1]
    for item in data["list"]:
        assert len(item["areas"]) == len(set(item["areas"])), item["areas"]
    labels = [(f["properties"]["id"], f["properties"]["area"]) for f in data["alerts"]["features"]]
    assert len(labels) == len(set(labels))  # one polygon and label per place
    # order: level 4 now (municipal), level 4 of 2013 (JMA), level 2 (CAP)
    titles = [p["title"] for p in data["list"]]
    assert [t for t in titles if "熊本市" in t or "福岡" in t or t == "大雨"] == [
        titles[0], titles[1], titles[2]]
    assert "熊本市" in titles[0] and "福岡" in titles[1] and [p["level"] for p in data["list"]] == [4, 4, 2]
    text = d.get("/text?lang=ja&all=1")[2].decode()
    order = [text.index(x) for x in ("熊本県熊本市 避難指示", "福岡県土砂災害警戒情報", "熊本市に大雨注意報")]
    main = text.split('id="alerts-h"')[1]
    order = [main.index(x) for x in ("熊本県熊本市 避難指示", "福岡県土砂災害警戒情報", "熊本市に大雨注意報")]
    assert order == sorted(order)
    for article in re.findall(r"<article.*?</article>", main, re.S):
        doc = _visible(article)
        head = re.search(r"<p class=\"headline\">(.*?)</p>", article, re.S)
        if head:
            assert doc.count(lhtml.fromstring(head.group(1)).text_content().strip()[:40]) == 1
        areas = re.search(r"(対象地域: .*)", doc)
        if areas:
            names = areas.group(1).removeprefix("対象地域: ").split("、")
            assert len(names) == len(set(names)), names
    screen = d.get_json("/signage/kumamoto.json")[1]
    assert len(screen["main"]["areas"]) == len(set(screen["main"]["areas"]))
    feed = etree.fromstring(d.get("/feeds/cap.atom?all=1")[2])
    ns = {"c": "urn:oasis:names:tc:emergency:cap:1.2"}
    levels_in_feed = [int(v) for v in feed.xpath(
        "//c:info[c:language='ja-JP']/c:parameter[c:valueName='警戒レベル']/c:value/text()",
        namespaces=ns)]
    assert levels_in_feed == sorted(levels_in_feed, reverse=True)


def test_region_hides_other_prefectures_unless_asked(truth_daemon, posted):
    d = truth_daemon
    text = d.get("/text?lang=ja")[2].decode()
    assert "熊本県熊本市 避難指示" in text and "福岡県土砂災害警戒情報" not in text
    assert "福岡県土砂災害警戒情報" in d.get("/text?lang=ja&all=1")[2].decode()
    data = d.get_json("/map/data.json?lang=ja")[1]
    assert all("福岡" not in p["title"] for p in data["list"])
    assert "福岡県土砂災害警戒情報" not in d.get("/feeds/cap.atom")[2].decode()
    assert "福岡県土砂災害警戒情報" in d.get("/feeds/cap.atom?all=1")[2].decode()
    # operators still see it, apart
    desk = _desk_pages(d, "ja", ["/desk/"])["/desk/"]
    outside = desk.split("対象地域外の情報")[1]
    assert "福岡県土砂災害警戒情報" in outside and "熊本県熊本市 避難指示" not in outside


ENGLISH_STATE_WORDS = re.compile(
    r"\b(issue|issued|update|correction|cancel|cancelled|accepted|active|pending|superseded|"
    r"lifted|expired|rejected|duplicate|ignored|handled|queued|sent|sending|retrying|dead|"
    r"failed|skipped|stopped|actual|exercise|test|http|spool|feed|desk|demo|jmaxml|commons|"
    r"signage|map|tiles|feeds|sse|bytes|backlog|outputs|long|serial|hazards|open|closed|"
    r"unknown)\b")


def test_desk_speaks_japanese_and_shows_the_publisher(truth_daemon, posted):
    d = truth_daemon
    ids = [row for row in re.findall(r'href="/desk/messages/(\d+)"',
                                     _desk_pages(d, "ja", ["/desk/history"])["/desk/history"])]
    paths = ["/desk/", "/desk/history", "/desk/feeds", "/desk/deliveries", "/desk/rejected",
             *[f"/desk/messages/{i}" for i in ids]]
    pages = _desk_pages(d, "ja", paths)
    for path, page in pages.items():
        # file paths and URLs (the spool directory, API links) are names, not words
        seen = re.sub(r"\S*/\S*", " ", _visible(page)).replace(TOKEN_NAME, "")
        found = [seen[max(0, m.start() - 60):m.end() + 20]
                 for m in ENGLISH_STATE_WORDS.finditer(seen)]
        assert not found, (path, found)
    history = lhtml.fromstring(pages["/desk/history"])
    senders = [c.text_content() for c in history.xpath("//td[contains(@class,'sender')]")]
    assert any("福岡県 福岡管区気象台" in s and TOKEN_NAME in s for s in senders), senders
    assert any("熊本県熊本市" in s and TOKEN_NAME in s for s in senders), senders
    en = _desk_pages(d, "en", ["/desk/history"])["/desk/history"]
    assert "sent by" in _visible(en)


# --- push payloads (pure): every channel carries the one label and the advice -------------


def test_push_payloads_carry_the_label_and_the_advice():
    from lalert.outputs.delivery import change_body
    from lalert.outputs.mqtt import message
    from lalert.outputs.webpush.output import payload
    from tests.push_fakes import change, flood

    jma = flood(kind="landslide", title="熊本県土砂災害警戒情報", instruction="2階以上へ")
    body = json.loads(json.dumps(change_body(change(1, jma)), ensure_ascii=False))
    assert body["instruction"] == "2階以上へ"
    assert body["level_label"]["ja"]["label"].startswith("警戒レベル4相当情報")
    short = payload(body, "{base_url}/alerts/{id}", "http://127.0.0.1")
    assert short["level_label"].startswith("警戒レベル4相当情報") and short["instruction"] == "2階以上へ"
    assert "避難指示" not in short["level_label"]
    mq = json.loads(message(body, {"code": "4310100"}))
    assert mq["level_label"]["source"] == "equivalent" and mq["instruction"] == "2階以上へ"
    order = change_body(change(2, flood()))
    assert order["level_label"]["ja"]["label"] == "警戒レベル4 避難指示"
    sw = (ROOT / "lalert/outputs/webpush/static/sw-push.js").read_text("utf-8")
    assert "警戒レベル${" not in sw  # the worker never spells a level itself


def test_desk_names_the_kind_of_information_without_a_level():
    from lalert.server.desk.formatting import level_text

    assert level_text(None, "ja", "tsunami") == "津波警報・注意報・予報・津波情報"
    assert level_text(None, "en", "tsunami") == "Tsunami warning / information"
    assert level_text(4, "ja", "landslide", ("landslide",)) == "警戒レベル4相当情報［土砂災害］"
