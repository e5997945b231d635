"""Subscription matching: points with geodesic radii, area codes, polygons, filters."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest

from lalert.model import Alert, Area, EnrichedAlert, Hazard
from lalert.subscriptions import InvalidSubscription, Subscription, SubscriptionIndex, match
from lalert.subscriptions.model import subscription_from_request

GEOD = pyproj.Geod(ellps="WGS84")
# A hand-made square footprint near Kumamoto city (lon/lat).
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[130.6, 32.7], [130.8, 32.7], [130.8, 32.9], [130.6, 32.9], [130.6, 32.7]]],
}


def alert(**kw) -> EnrichedAlert:
    base = dict(
        format="jmaxml",
        id="a1",
        info_type="issue",
        status="actual",
        kind="weather_warning",
        title="大雨警報",
        issued_at="2024-07-01T10:00:00+09:00",
        raw_sha256="0" * 64,
        level=3,
        areas=(Area(code="4310000", scheme="jma.city", name="熊本市"),),
    )
    footprint = kw.pop("footprint", SQUARE)
    base.update(kw)
    return EnrichedAlert(alert=Alert(**base), footprint=footprint)


def east_of_edge(metres: float) -> tuple[float, float]:
    """A point `metres` due east of the square's east edge (lon 130.8) at lat 32.8."""
    lon, lat, _ = GEOD.fwd(130.8, 32.8, 90, metres)
    return lat, lon


def test_point_radius_is_geodesic_metres():
    lat, lon = east_of_edge(5_000)
    subs = [
        Subscription("inside", "webhook", lat=32.8, lon=130.7, radius_m=0),
        Subscription("near-5100", "webhook", lat=lat, lon=lon, radius_m=5_100),
        Subscription("near-4900", "webhook", lat=lat, lon=lon, radius_m=4_900),
        Subscription("far", "webhook", lat=33.5, lon=131.5, radius_m=10_000),
    ]
    got = set(match(alert(), SubscriptionIndex.build(subs)))
    assert got == {"inside", "near-5100"}


def test_bulk_points_match_the_object_path():
    rng = np.random.default_rng(1)
    n = 5_000
    lon = rng.uniform(130.4, 131.0, n)
    lat = rng.uniform(32.5, 33.1, n)
    r = rng.uniform(0, 8_000, n)
    ids = [f"p{i}" for i in range(n)]
    bulk = SubscriptionIndex.from_points(ids, lon, lat, r)
    objs = SubscriptionIndex.build(
        [Subscription(ids[i], "webhook", lat=lat[i], lon=lon[i], radius_m=r[i]) for i in range(n)]
    )
    a = alert()
    assert sorted(match(a, bulk)) == sorted(match(a, objs))
    # plain-loop reference: geodesic distance from each point to the square (convex) edges
    # is not needed when inside; check inside points are all matched.
    inside = {ids[i] for i in range(n) if 130.6 <= lon[i] <= 130.8 and 32.7 <= lat[i] <= 32.9}
    assert inside <= set(match(a, bulk))


def test_area_codes_are_keyed_by_scheme():
    subs = [
        Subscription("city", "webhook", areas=(("jma.city", "4310000"),)),
        Subscription("other-scheme", "webhook", areas=(("lg_code", "4310000"),)),
        Subscription("hazard-area", "webhook", areas=(("jma.city", "4320200"),)),
    ]
    a = alert(
        footprint=None,
        hazards=(Hazard("4320200", "jma.city", "heavy_rain", "大雨警報", "issued"),),
    )
    assert set(match(a, SubscriptionIndex.build(subs))) == {"city", "hazard-area"}


def test_polygon_subscription():
    near = {
        "type": "Polygon",
        "coordinates": [[[130.79, 32.8], [130.9, 32.8], [130.9, 32.85], [130.79, 32.8]]],
    }
    away = {
        "type": "Polygon",
        "coordinates": [[[131.0, 33.0], [131.1, 33.0], [131.1, 33.1], [131.0, 33.0]]],
    }
    subs = [Subscription("near", "webhook", polygon=near), Subscription("away", "webhook", polygon=away)]
    assert match(alert(), SubscriptionIndex.build(subs)) == ["near"]


def test_filters_kind_level_language_drill_channel():
    p = dict(lat=32.8, lon=130.7)
    subs = [
        Subscription("any", "webhook", **p),
        Subscription("tsunami-only", "webhook", kinds=frozenset({"tsunami"}), **p),
        Subscription("rain", "webhook", kinds=frozenset({"heavy_rain"}), **p),
        Subscription("lvl4", "webhook", min_level=4, **p),
        Subscription("en", "webhook", languages=frozenset({"en"}), **p),
        Subscription("ja", "webhook", languages=frozenset({"ja"}), **p),
        Subscription("drills", "webhook", drills=True, **p),
        Subscription("push", "webpush", **p),
    ]
    idx = SubscriptionIndex.build(subs)
    a = alert(hazards=(Hazard("4310000", "jma.city", "heavy_rain", "大雨警報", "issued"),))
    assert set(match(a, idx, channel="webhook")) == {"any", "rain", "ja", "drills"}
    assert match(a, idx, channel="webpush") == ["push"]
    drill = alert(status="exercise")
    assert set(match(drill, idx)) == {"drills"}
    severe = alert(level=None, severity="Extreme")
    assert "lvl4" in match(severe, idx)


def test_request_validation():
    mk = dict(sub_id="s", channel="webhook", target={}, created_at="")
    ok = subscription_from_request(
        {"where": {"point": {"lat": 32.8, "lon": 130.7}, "radius_m": 500}, "min_level": 3}, **mk
    )
    assert (ok.lat, ok.radius_m, ok.min_level) == (32.8, 500.0, 3)
    bad = [
        {"where": {"point": {"lat": 132.8, "lon": 130.7}}},
        {"where": {"point": {"lat": 32.8, "lon": 130.7}, "radius_m": 10_000_000}},
        {"where": {"areas": [{"code": "4310000"}]}},
        {"where": {"polygon": {"type": "Point", "coordinates": [1, 2]}}},
        {"where": {"areas": [{"scheme": "jma.city", "code": "1"}]}, "min_level": 9},
        {},
    ]
    for body in bad:
        with pytest.raises(InvalidSubscription):
            subscription_from_request(body, **mk)


def test_any_number_of_distinct_filter_values_in_one_index():
    """Thousands of distinct kinds and languages (once a 63-value ceiling made the whole
    index unbuildable, so one subscriber could stop every alert) still match exactly."""
    p = dict(lat=32.8, lon=130.7)
    noise = [Subscription(f"n{i}", "webhook", kinds=frozenset(f"k{i}-{j}" for j in range(80)),
                          languages=frozenset(f"x{i}-{j}" for j in range(20)), **p)
             for i in range(200)]
    subs = [*noise,
            Subscription("rain", "webhook", kinds=frozenset({"heavy_rain", *noise[0].kinds}), **p),
            Subscription("ja", "webhook", languages=frozenset({"ja", "k1-1"}), **p),
            Subscription("en", "webhook", languages=frozenset({"en"}), **p),
            Subscription("any", "webhook", **p)]
    idx = SubscriptionIndex.build(subs)
    a = alert(hazards=(Hazard("4310000", "jma.city", "heavy_rain", "大雨警報", "issued"),))
    assert set(match(a, idx)) == {"rain", "ja", "any"}


def test_unindexable_rows_are_named_and_the_rest_still_match():
    p = dict(lat=32.8, lon=130.7)
    subs = [Subscription("ok", "webhook", **p),
            Subscription("level", "webhook", min_level=99, **p),
            Subscription("poly", "webhook", polygon={"type": "Polygon", "coordinates": 7}),
            Subscription("lat", "webhook", lat=999.0, lon=130.7)]
    idx = SubscriptionIndex.build(subs)
    assert match(alert(), idx) == ["ok"]
    assert set(idx.broken) == {"level", "poly", "lat"}


def test_filter_bounds_name_the_field_and_the_limit():
    mk = dict(sub_id="s", channel="webhook", target={}, created_at="")
    where = {"point": {"lat": 32.8, "lon": 130.7}}
    for body, words in [({"kinds": [f"k{i}" for i in range(51)]}, ("'kinds'", "50")),
                        ({"kinds": [""]}, ("'kinds'", "64")),
                        ({"languages": [f"l{i}" for i in range(17)]}, ("'languages'", "16")),
                        ({"languages": ["ja;DROP"]}, ("'languages'",))]:
        with pytest.raises(InvalidSubscription) as e:
            subscription_from_request({"where": where, **body}, **mk)
        assert all(w in str(e.value) for w in words), str(e.value)
    ok = subscription_from_request({"where": where, "kinds": [f"k{i}" for i in range(50)],
                                    "languages": ["ja", "en-US", "zh-hant"]}, **mk)
    assert len(ok.kinds) == 50


def test_has_any_follows_writes(tmp_path):
    """``has_any`` lets the push outputs skip a change nobody on a channel can get; it
    must follow every add and delete, or a new subscriber would miss alerts."""
    from lalert.subscriptions.store import SubscriptionStore

    store = SubscriptionStore(tmp_path / "subscriptions.sqlite")
    try:
        assert not store.has_any("webhook")
        store.add(Subscription("a", "webhook", lat=32.8, lon=130.7, radius_m=0))
        assert store.has_any("webhook") and not store.has_any("webpush")
        store.add_many([Subscription("b", "webpush", lat=32.8, lon=130.7, radius_m=0)])
        assert store.has_any("webpush")
        store.delete("a")
        assert not store.has_any("webhook") and store.has_any("webpush")
    finally:
        store.close()
