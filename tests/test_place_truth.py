"""What a resident is told at one place must be true there: found walking through real
JMA telegrams (corpus) as a resident at a signage screen, on the map and on a live stream."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import shapely

from lalert.model import EnrichedAlert
from lalert.parsers import parse

NARA_54 = "15_08_04_160628_VPWW53.xml"
"""奈良県 2011-09-05 10:26: 十津川村 大雨特別警報・洪水警報 (継続); 奈良市 大雨注意報
(特別警報から注意報), its 洪水注意報 解除."""


@pytest.fixture(scope="module")
def nara(corpus, jma_geo) -> EnrichedAlert:
    from lalert.geo.enrich import enrich

    return enrich(parse((corpus / "xml" / "jma" / NARA_54).read_bytes())[0], jma_geo)


def _inside(ea: EnrichedAlert, town: str) -> shapely.Point:
    (area,) = [a for a in ea.active_areas() if a.name == town and a.geometry]
    return shapely.geometry.shape(area.geometry).representative_point()


def test_a_screen_names_only_the_warnings_in_force_where_it_stands(nara):
    """十津川村's screen listed 大雨注意報・洪水注意報 beside its 大雨特別警報・洪水警報:
    奈良市's 注意報 (and a 洪水注意報 奈良市 had just lifted) shown as in force there."""
    from lalert.outputs.signage.content import build
    from lalert.outputs.signage.screens import Screen

    p = _inside(nara, "十津川村")
    body = build(Screen(id="t", name="十津川村役場", lat=p.y, lon=p.x), [nara])
    assert body["mode"] == "takeover"
    assert body["main"]["hazard_names"] == ["大雨特別警報", "洪水警報"]
    p = _inside(nara, "奈良市")
    body = build(Screen(id="n", name="奈良市役所", lat=p.y, lon=p.x), [nara])
    (info,) = body["info"]
    assert info["hazard_names"] == ["大雨注意報"]


# --- a live stream (SSE) subscribed by place ------------------------------------------

NARA_53 = "15_08_03_160628_VPWW53.xml"
"""奈良県 2011-09-04 06:21: 奈良市 and 十津川村 under 大雨特別警報 (5), 大和郡山市 注意報 (2);
``NARA_54`` then takes 奈良市 down to its 注意報 (2) and lifts every warning of 大和郡山市."""


@pytest.fixture(scope="module")
def nara_day(corpus, jma_geo, nara) -> list[EnrichedAlert]:
    from lalert.geo.enrich import enrich

    return [enrich(parse((corpus / "xml" / "jma" / NARA_53).read_bytes())[0], jma_geo), nara]


async def test_a_stream_by_place_is_told_the_level_there_and_when_its_town_is_lifted(
        tmp_path, nara_day):
    """A client streaming for 奈良市 was told 5 (十津川村's 大雨特別警報) after 奈良市 went
    down to its 注意報, and a client in 大和郡山市 was never told that its warnings were
    lifted: it kept showing them in force."""
    from tests.push_fakes import change
    from tests.test_push_sse import next_event, setup, wait_clients

    first, second = nara_day
    nara_city, koriyama = _inside(first, "奈良市"), _inside(first, "大和郡山市")
    out, client = await setup(tmp_path)
    try:
        at_nara = await client.get(f"/api/v1/stream?point={nara_city.y},{nara_city.x}")
        at_koriyama = await client.get(f"/api/v1/stream?point={koriyama.y},{koriyama.x}")
        totsukawa = await client.get("/api/v1/stream?area=jma.city:2944900")
        everywhere = await client.get("/api/v1/stream")
        await wait_clients(out, 4)
        await out.handle(change(1, first))
        await out.handle(change(2, second, "updated", "update"))

        told = {name: [(await next_event(r))["data"] for _ in range(2)]
                for name, r in (("nara", at_nara), ("totsukawa", totsukawa),
                                ("all", everywhere))}
        assert [d["level"] for d in told["nara"]] == [5, 2]
        assert [d["here"]["places"] for d in told["nara"]] == [["奈良市"], ["奈良市"]]
        assert "レベル2" in told["nara"][1]["level_label"]["ja"]["label"]
        assert [d["level"] for d in told["totsukawa"]] == [5, 5]
        assert [d["level"] for d in told["all"]] == [5, 5]  # no place: the highest anywhere
        assert "here" not in told["all"][0]

        kori = [(await next_event(at_koriyama))["data"] for _ in range(2)]
        assert kori[0]["level"] == 2 and kori[0]["here"]["lifted"] is False
        assert kori[1]["here"] == {"places": ["大和郡山市"], "level": None, "lifted": True}
        assert kori[1]["level"] is None and kori[1]["level_label"] is None

        resumed = await client.get(f"/api/v1/stream?point={koriyama.y},{koriyama.x}",
                                   headers={"Last-Event-ID": "0"})
        assert [(await next_event(resumed))["data"]["here"]["lifted"] for _ in range(2)] == [
            False, True]  # the replay says the same
    finally:
        await out.stop()
        await client.close()


# --- a tsunami's forecast regions on the text page -------------------------------------

TOHOKU = "32-39_11_02_250206_VTSE41.xml"
"""2011-03-11 14:49: 大津波警報 for 宮城県 …, 津波注意報 for 三重県南部 …, and 津波予報
（若干の海面変動） for 伊勢・三河湾, 大阪府, 有明・八代海 … (no damage expected)."""


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_text_says_what_is_in_force_at_a_tsunami_forecast_region(corpus, jma_geo, lang):
    """伊勢・三河湾 was listed with nothing but the telegram's title, 大津波警報・津波警報・
    津波注意報・津波予報: a resident there read 大津波警報 where JMA forecast only a slight
    sea-level change. Each place says what is in force there."""
    from lalert.geo.enrich import enrich
    from lalert.outputs.publicmap.text import render_text

    ea = enrich(parse((corpus / "xml" / "jma" / TOHOKU).read_bytes())[0], jma_geo)
    html = render_text([ea], jma_geo, lang=lang, updated="2026-07-03T10:00:00+09:00")
    said = {re.sub("<[^>]+>", "", li.split(":", 1)[0]).strip(): re.sub("<[^>]+>", "", li)
            for li in html.split("<li>") if ":" in li}
    assert "津波予報（若干の海面変動）" in said["伊勢・三河湾"]
    assert "大津波警報：発表" in said["宮城県"] and "若干" not in said["宮城県"]


# --- shelters offered where several hazards are in force -------------------------------

DEMO = Path(__file__).resolve().parents[1] / "lalert" / "demo" / "messages"
KUROKAMI = (32.8135, 130.7275)  # 熊本市中央区黒髪, beside the 白川


@pytest.fixture(scope="module")
def kumamoto(corpus, tmp_path_factory):
    """熊本市 under 大雨警報・洪水警報 (hand-made demo telegram in JMA's format) and a
    避難指示 for 黒髪 (土砂災害), over the real GSI sites of the corpus."""
    from lalert.geo.enrich import enrich
    from lalert.geo.store import import_sources, load_geodata

    g = corpus / "geo"
    db = tmp_path_factory.mktemp("kumamoto") / "geo.gpkg"
    report = import_sources(db, [g / "jma-areas" / "jma_city_areas.geojson", g / "shelters"],
                            progress=False)
    assert report.errors == 0
    geo = load_geodata(db)
    alerts = [enrich(parse((DEMO / name).read_bytes())[0], geo)
              for name in ("10_jma_weather_warning_kumamoto.xml",
                           "20_commons_evacuation_order_kumamoto.xml")]
    return alerts, geo


def test_where_am_i_offers_only_sites_designated_for_every_hazard_in_force_there(kumamoto):
    """At 黒髪, under a 洪水警報 and a 避難指示 for 土砂災害, "where am I" offered the
    白川 riverbanks 子飼橋上流右岸・左岸 — sites designated for 崖崩れ but not for 洪水 —
    because it chose its sites by one hazard (the first alert's first). A site is offered
    only for the hazards it is designated for (災害対策基本法 第49条の4): all of them."""
    from lalert.outputs.publicmap.data import Here

    alerts, geo = kumamoto
    said = Here.build(alerts, geo).answer(*KUROKAMI, lang="ja")
    assert {"flood", "landslide"} <= set(said["hazards"])
    registry = [s for s in said["shelters"] if s["hazards"]]
    assert registry
    for s in registry:
        assert set(said["hazards"]) <= set(s["hazards"]), s["name"]
    assert not any("子飼橋" in s["name"] for s in said["shelters"])
    # one hazard asked for (the map's filter): that one, as before
    asked = Here.build(alerts, geo).answer(*KUROKAMI, lang="ja", hazard="landslide")
    assert asked["hazards"] == ["landslide"]
    assert any("子飼橋" in s["name"] for s in asked["shelters"])


def test_a_screen_offers_only_sites_designated_for_every_hazard_in_force_there(kumamoto):
    """The same on a signage screen at 黒髪: it chose its sites by the main alert's first
    hazard (土砂災害 of the 避難指示), offering the 白川 riverbanks under a 洪水警報."""
    from lalert.outputs.signage.content import build
    from lalert.outputs.signage.places import shelter_finder
    from lalert.outputs.signage.screens import Screen

    alerts, geo = kumamoto
    screen = Screen(id="kurokami", name="黒髪 まちかど掲示板", lat=KUROKAMI[0], lon=KUROKAMI[1])
    body = build(screen, alerts, find_shelters=shelter_finder(geo))
    assert body["mode"] == "takeover" and body["shelters"]
    assert body["main"]["kind"] == "evacuation" and body["hazard"] == "landslide"  # its own
    for s in body["shelters"]:
        if s["hazards"]:  # a registry site (a place the city opened has no designations)
            assert {"flood", "landslide"} <= set(s["hazards"]), s["name"]


def test_where_am_i_says_each_unplaced_region_what_is_in_force_there(corpus, jma_geo):
    """On 有明海's coast (熊本) "where am I" could not place the tsunami regions and said
    特別警報: 大津波警報 over the first twelve of 43 regions; 有明・八代海, under a
    津波予報（若干の海面変動）, was not even among them. Each region now stands beside what
    is in force there, gravest first."""
    from lalert.geo.enrich import enrich
    from lalert.outputs.publicmap.data import Here

    ea = enrich(parse((corpus / "xml" / "jma" / TOHOKU).read_bytes())[0], jma_geo)
    said = Here.build([ea], jma_geo).answer(32.79, 130.60, lang="ja")
    (maybe,) = said["unplaced"]
    by_label = {g["level_label"]: g for g in maybe["groups"]}
    assert "宮城県" in by_label["特別警報: 大津波警報：発表"]["places"]
    assert "有明・八代海" in by_label["津波予報（若干の海面変動）"]["places"]
    assert list(by_label)[0] == "特別警報: 大津波警報：発表"  # gravest first
    assert sum(len(g["places"]) + g["more_places"] for g in maybe["groups"]) == 43


HYOGO_STORM = "15_10_03_160628_VPWW53.xml"  # 大雨特別警報 (5) elsewhere, 暴風特別警報 in 伊丹市


async def test_a_stream_at_a_place_without_a_level_is_told_the_warning_there(
        tmp_path, corpus, jma_geo):
    """伊丹市 is under 暴風特別警報 (no 警戒レベル) while other towns are at level 5: a
    client streaming for 伊丹市 is told no level of another town, and which warning is in
    force where it is (特別警報: 暴風特別警報), as its Web Push notification says."""
    from lalert.geo.enrich import enrich
    from tests.push_fakes import change
    from tests.test_push_sse import next_event, setup, wait_clients

    ea = enrich(parse((corpus / "xml" / "jma" / HYOGO_STORM).read_bytes())[0], jma_geo)
    itami = next(a for a in ea.active_areas() if a.name == "伊丹市")
    out, client = await setup(tmp_path)
    try:
        r = await client.get(f"/api/v1/stream?area={itami.scheme}:{itami.code}")
        await wait_clients(out, 1)
        await out.handle(change(1, ea))
        d = (await next_event(r))["data"]
        assert d["level"] is None and d["here"]["places"] == ["伊丹市"]
        assert d["here"]["warning"]["ja"] == "特別警報: 暴風特別警報"
        assert d["here"]["warning"]["en"].startswith("Emergency warning")
    finally:
        await out.stop()
        await client.close()
