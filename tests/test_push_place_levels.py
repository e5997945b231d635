"""Push tells each subscriber the 警戒レベル in force at its own place, not the alert's
highest anywhere.

Nara's warning telegram (VPWW53) puts 大雨特別警報 (level 5) on 十津川村 and 五條市 and only
注意報 (level 2) on 三宅町 and 上牧町. A 三宅町 resident who asked for level 4 and above is
not woken by 十津川村's level 5 (a false alarm); a notification says 三宅町's level and
names 三宅町. The in-memory matcher (SQLite homes) and the PostGIS matcher (workers) give
the same answers on the same real alerts.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import shapely
from shapely.geometry import box, mapping, shape

from lalert.model import EnrichedAlert
from lalert.parsers import parse
from lalert.subscriptions import Subscription, SubscriptionIndex, match
from lalert.subscriptions.store import SubscriptionStore
from tests.backends import pg_server  # noqa: F401 (fixture)
from tests.test_area_levels import NARA_53
from tests.test_push_mqtt import broker  # noqa: F401 (fixture)

CAP_STORM = "thunderstorm.cap"  # one polygon, severity Severe, no 警戒レベル
COMMONS_ORDER = "publiccommons-py_soap1.xml"  # 避難準備 (level 3) on 12 町丁目, each a point


@pytest.fixture(scope="module")
def geo(jma_geo):
    return jma_geo


def _enriched(corpus: Path, geo, sub: str, name: str) -> EnrichedAlert:
    from lalert.geo.enrich import enrich

    return enrich(parse((corpus / "xml" / sub / name).read_bytes())[0], geo)


@pytest.fixture(scope="module")
def nara(corpus, geo) -> EnrichedAlert:
    return _enriched(corpus, geo, "jma", NARA_53)


def inside(ea: EnrichedAlert, name: str) -> tuple[float, float]:
    """(lat, lon) of a point well inside the named place of the alert."""
    (area,) = [a for a in ea.active_areas() if a.name == name and a.geometry]
    p = shape(area.geometry).representative_point()
    return p.y, p.x


def _code(ea: EnrichedAlert, name: str) -> tuple[str, str]:
    (area,) = [a for a in ea.active_areas() if a.name == name]
    assert area.code is not None
    return area.scheme, area.code


def nara_subscriptions(ea: EnrichedAlert) -> list[Subscription]:
    """Points (with and without a radius), polygons and codes in level-2 and level-5 towns."""
    mlat, mlon = inside(ea, "三宅町")  # 注意報 only (level 2)
    tlat, tlon = inside(ea, "十津川村")  # 大雨特別警報 (level 5)
    (miyake,) = [shape(a.geometry) for a in ea.active_areas() if a.name == "三宅町"]
    c = shapely.maximum_inscribed_circle(miyake, 1e-5).coords[0]
    square = box(c[0] - 0.001, c[1] - 0.001, c[0] + 0.001, c[1] + 0.001)
    assert miyake.contains(square)  # the polygon subscriptions stay inside 三宅町
    S = Subscription
    return [
        S("miyake-pt-l4", "webpush", lat=mlat, lon=mlon, min_level=4),
        S("miyake-pt-l2", "webpush", lat=mlat, lon=mlon, min_level=2),
        S("miyake-pt-any", "webpush", lat=mlat, lon=mlon),
        # 5 km reaches 田原本町 next door (level 5): the circle is under level 5 there
        S("miyake-wide-l5", "webpush", lat=mlat, lon=mlon, radius_m=5_000, min_level=5),
        S("miyake-poly-l3", "webhook", polygon=mapping(square), min_level=3),
        S("miyake-poly-l2", "webhook", polygon=mapping(square), min_level=2),
        S("kanmaki-code-l4", "webhook", areas=(_code(ea, "上牧町"),), min_level=4),
        S("kanmaki-code-l2", "webhook", areas=(_code(ea, "上牧町"),), min_level=2),
        S("kanmaki-miyake-codes-l3", "webhook",
          areas=(_code(ea, "上牧町"), _code(ea, "三宅町")), min_level=3),
        S("totsukawa-pt-l5", "webpush", lat=tlat, lon=tlon, min_level=5),
        S("gojo-code-l5", "webhook", areas=(_code(ea, "五條市北部"),), min_level=5),
        S("totsukawa-quake", "webhook", lat=tlat, lon=tlon, kinds=frozenset({"earthquake"})),
        S("totsukawa-drills", "webpush", lat=tlat, lon=tlon, min_level=3, drills=True),
        S("miyake-drills-l3", "webpush", lat=mlat, lon=mlon, min_level=3, drills=True),
        S("tokyo", "webhook", lat=35.68, lon=139.76, radius_m=10_000),
    ]


NARA_REACHED = {"miyake-pt-l2", "miyake-pt-any", "miyake-wide-l5", "miyake-poly-l2",
                "kanmaki-code-l2", "totsukawa-pt-l5", "gojo-code-l5", "totsukawa-drills"}


def test_a_level_2_town_is_not_told_of_level_5_elsewhere(nara):
    """三宅町 with min_level 4 was pushed the 注意報 because 十津川村 is at level 5."""
    got = set(match(nara, SubscriptionIndex.build(nara_subscriptions(nara))))
    assert got == NARA_REACHED
    assert "miyake-pt-l4" not in got and "kanmaki-code-l4" not in got


def test_drills_are_judged_per_place_too(nara):
    drill = dataclasses.replace(nara, alert=dataclasses.replace(nara.alert, status="exercise"))
    got = set(match(drill, SubscriptionIndex.build(nara_subscriptions(nara))))
    assert got == {"totsukawa-drills"}  # 三宅町's drill subscriber wants level 3+


def _others(corpus: Path, geo) -> list[tuple[str, EnrichedAlert, list[Subscription]]]:
    """A CAP alert (one polygon, no place has a level of its own: judged by severity,
    Severe = 4) and a Commons 避難準備 (level 3 on every 町丁目: the alert's level), with
    subscribers in and out of them at several minimum levels."""
    out = []
    for sub, name in (("cap", CAP_STORM), ("commons", COMMONS_ORDER)):
        ea = _enriched(corpus, geo, sub, name)
        # the CAP polygon; the order's 町丁目 are points (no footprint of their own)
        where = [shapely.from_geojson(json.dumps(a.geometry)) for a in ea.active_areas()
                 if a.geometry]
        p = where[0].representative_point()
        drills = not ea.alert.is_real  # the Commons sample is a test message
        subs = [Subscription(f"{sub}-l{n}", "webhook", lat=p.y, lon=p.x, radius_m=100,
                             min_level=n or None, drills=drills) for n in range(6)]
        subs.append(Subscription(f"{sub}-far", "webpush", lat=p.y + 1, lon=p.x, radius_m=100))
        out.append((name, ea, subs))
    return out


# --- the PostGIS matcher answers alike ----------------------------------------------------


@pytest.fixture
def pg_url(pg_server):  # noqa: F811
    return pg_server.new_database()


def test_sqlite_and_postgis_matchers_agree_on_real_alerts(corpus, geo, nara, pg_url, tmp_path):
    from lalert.store.pggeo import PgSubscriptionStore

    cases = [(NARA_53, nara, nara_subscriptions(nara)),
             ("drill " + NARA_53,
              dataclasses.replace(nara, alert=dataclasses.replace(nara.alert, status="exercise")),
              []), *_others(corpus, geo)]
    everyone = [s for _, _, subs in cases for s in subs]
    lite, pg = SubscriptionStore(tmp_path / "subscriptions.sqlite"), PgSubscriptionStore(pg_url)
    try:
        lite.add_many(everyone)
        pg.add_many(everyone)
        for name, ea, _ in cases:
            for channel in (None, "webhook", "webpush"):
                mem = set(lite.match(ea, channel)) if channel else set(
                    match(ea, SubscriptionIndex.build(everyone)))
                assert set(pg.match(ea, channel)) == mem, (name, channel)
        assert set(pg.match(nara, None)) == NARA_REACHED
        # alerts that give no place a level of its own are judged as a whole
        (_, cap, _), (_, order, _) = cases[2:]
        assert set(pg.match(cap, None)) == {f"cap-l{n}" for n in range(5)}  # Severe: 4
        assert set(pg.match(order, None)) == {f"commons-l{n}" for n in range(4)}  # 3
        assert set(pg.match(nara, "webpush")) == {
            "miyake-pt-l2", "miyake-pt-any", "miyake-wide-l5", "totsukawa-pt-l5",
            "totsukawa-drills"}
    finally:
        lite.close()
        pg.close()


# --- Web Push: the notification says what is true where the subscriber is ----------------


async def _sign_up(client, svc, name: str, browser, point, **extra):
    body = {"channel": "webpush",
            "subscription": {"endpoint": svc.endpoint(name), "keys": browser.keys()},
            "where": {"point": {"lat": point[0], "lon": point[1]}, "radius_m": 0}, **extra}
    return await client.post("/api/v1/subscriptions", json=body)


async def test_web_push_tells_each_town_its_own_level_in_its_reader_language(nara, tmp_path):
    from tests.push_fakes import change
    from tests.test_push_webpush import Browser, PushService, started

    browsers = {n: Browser() for n in ("miyake", "miyake-l4", "totsukawa")}
    async with PushService(browsers) as svc:
        out, client = await started(tmp_path)
        try:
            r = await _sign_up(client, svc, "miyake", browsers["miyake"],
                               inside(nara, "三宅町"), lang="en-GB")
            assert r.status == 201 and (await r.json())["lang"] == "en"
            assert (await _sign_up(client, svc, "miyake-l4", browsers["miyake-l4"],
                                   inside(nara, "三宅町"), min_level=4)).status == 201
            assert (await _sign_up(client, svc, "totsukawa", browsers["totsukawa"],
                                   inside(nara, "十津川村"))).status == 201
            for bad in ("tlh", "", 7, "en" * 40):
                refused = await _sign_up(client, svc, "miyake", browsers["miyake"],
                                         inside(nara, "三宅町"), lang=bad)
                assert refused.status == 400 and "lang" in (await refused.json())["error"]
            await out.handle(change(1, nara))
            assert await out.dispatcher.drain(20)
            assert sorted(svc.received) == ["miyake", "totsukawa"]  # not the level-4 one
            [miyake], [totsukawa] = svc.received["miyake"], svc.received["totsukawa"]
            assert miyake["level"] == 2 and miyake["place"] == "三宅町"
            assert miyake["level_label"].startswith("Alert level 2")  # the reader's language
            assert miyake["title"] == nara.alert.title  # the alert's own words as published
            assert totsukawa["level"] == 5 and totsukawa["place"] == "十津川村"
            assert totsukawa["level_label"].startswith("警戒レベル5")  # no lang: Japanese

            lifted = dataclasses.replace(nara, alert=dataclasses.replace(
                nara.alert, id="nara-2", info_type="cancel"))
            await out.handle(change(2, lifted, "withdrawn", "cancel"))
            assert await out.dispatcher.drain(20)
            ended = svc.received["miyake"][-1]
            assert ended["title"].startswith("Lifted: ")
            assert ended["place"] == "三宅町" and ended["level"] is None  # its own place
            assert svc.received["totsukawa"][-1]["title"].startswith("解除: ")
        finally:
            await out.stop()
            await client.close()


# --- MQTT: each retained area topic carries its own area's level -------------------------


@pytest.mark.skipif(not shutil.which("mosquitto_passwd"), reason="Debian package mosquitto not installed")
async def test_each_mqtt_area_topic_carries_its_own_level(nara, tmp_path, broker):  # noqa: F811
    from lalert.outputs.mqtt import MqttOutput
    from tests.push_fakes import change, ctx
    from tests.test_push_mqtt import PASSWORD, USER, retained

    out = MqttOutput()
    await out.start(ctx(tmp_path, "mqtt", port=broker, username=USER, password=PASSWORD))
    try:
        await out.handle(change(1, nara))
        assert await out.drain(20)
        kept = await retained(broker, "lalert/alerts/29/#")
    finally:
        await out.stop()
    by_name = {m["area"]["name"]: m for m in map(json.loads, kept.values())}
    assert len(by_name) == len(nara.active_areas())
    miyake, totsukawa = by_name["三宅町"], by_name["十津川村"]
    assert miyake["level"] == 2 and miyake["level_label"]["level"] == 2
    assert "5" not in miyake["level_label"]["ja"]["label"]
    assert totsukawa["level"] == 5 and totsukawa["level_label"]["ja"]["label"].startswith(
        "警戒レベル5")


# --- webhook: one shared signed body per change, with the level at each place -----------


def test_the_change_body_names_the_level_at_each_place(nara):
    from lalert.outputs.delivery import change_body
    from tests.push_fakes import change

    body = change_body(change(1, nara))
    levels = {x["name"]: x["level"] for x in body["area_levels"]}
    assert levels["三宅町"] == 2 and levels["上牧町"] == 2
    assert levels["十津川村"] == 5 and levels["五條市北部"] == 5
    assert {x["scheme"] for x in body["area_levels"]} == {"jma.city"}
    assert len(body["area_levels"]) == len(nara.active_areas())
    # the keys receivers already read keep their meaning: the highest level anywhere
    assert body["level"] == 5 and body["level_label"]["level"] == 5
    assert body["change"]["seq"] == 1


def test_the_notification_tells_the_level_matching_judged(nara):
    """``touched`` (Web Push's places of a subscriber) and matching share one rule: every
    reached subscriber is told a level that meets its minimum; the others would not be."""
    from lalert.subscriptions.index import place_level, places_of, touched

    places = places_of(nara)
    subs = [s for s in nara_subscriptions(nara) if not s.kinds and s.id != "tokyo"]
    reached = set(match(nara, SubscriptionIndex.build(subs)))
    for s in subs:
        here = touched(s, places)
        assert here, s.id
        assert (place_level(here) >= (s.min_level or 0)) == (s.id in reached), s.id
    wide = next(s for s in subs if s.id == "miyake-wide-l5")
    assert {"三宅町", "田原本町"} <= {p.name for p in touched(wide, places)}


def test_a_town_whose_advisory_is_lifted_is_told_so_not_another_towns_level(nara):
    """The next telegram lifts 三宅町's 注意報 while 十津川村 stays at 5: 三宅町's subscriber
    (a recipient of the earlier version) is told 解除 for 三宅町, not "level 5: 十津川村…"."""
    from lalert.outputs.delivery import change_body
    from lalert.outputs.webpush.output import payload
    from tests.push_fakes import change

    code = _code(nara, "三宅町")[1]

    def lift(a):
        return dataclasses.replace(a, status="lifted") if a.code == code else a

    alert = dataclasses.replace(
        nara.alert, id="nara-2", areas=tuple(map(lift, nara.alert.areas)),
        hazards=tuple(dataclasses.replace(h, state="lifted") if h.area_code == code else h
                      for h in nara.alert.hazards))
    nara2 = dataclasses.replace(nara, alert=alert, areas=tuple(map(lift, nara.areas)))
    body = change_body(change(2, nara2, "updated", "update"))
    miyake = Subscription("m", "webpush", lat=inside(nara, "三宅町")[0],
                          lon=inside(nara, "三宅町")[1], target={"lang": "ko"})
    totsukawa = Subscription("t", "webpush", lat=inside(nara, "十津川村")[0],
                             lon=inside(nara, "十津川村")[1])
    told = payload(body, "{base_url}/map?alert={id}", "https://x", sub=miyake)
    assert told["title"].startswith("해제: ") and told["place"] == "三宅町"
    assert told["level"] is None and told["level_label"] is None
    still = payload(body, "{base_url}/map?alert={id}", "https://x", sub=totsukawa)
    assert still["level"] == 5 and still["place"] == "十津川村"
    assert not still["title"].startswith("解除")
