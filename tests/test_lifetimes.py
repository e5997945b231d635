"""Lifetimes of information that has no cancel (``lalert.vocab.lifetimes``), clock injected.

Every corpus telegram of a one-shot type is applied at its own report time: it is in
force one second before ``min(ValidDateTime, report time + lifetime)`` and expired at
that instant. Warnings JMA lifts explicitly never expire by themselves. A telegram that
arrives after its lifetime is ``expired`` at once and never in force.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from lalert.config import load_config
from lalert.lifecycle import Lifecycle, parse_time
from lalert.parsers import parse
from lalert.vocab.lifetimes import LIFETIMES, lifetimes_with, parse_duration
from tests.conftest import corpus_files
from tests.daemon_helpers import start_daemon

# telegram type (from the corpus file name) → the lifetime key it must get
ONE_SHOT_TYPES = {
    "VXSE43": "eew", "VXSE44": "eew", "VXSE45": "eew",
    "VXSE51": "seismic_intensity", "VXSE52": "hypocenter", "VXSE53": "earthquake",
    "VXSE56": "earthquake_activity", "VTSE51": "tsunami_info", "VTSE52": "tsunami_info",
    "VFVO51": "volcano_commentary", "VFVO52": "eruption_observation",
    "VFVO53": "ashfall_scheduled", "VFVO54": "ashfall_quick", "VFVO55": "ashfall_detailed",
    "VFVO56": "eruption_flash", "VPOA50": "record_rain", "VPHW50": "tornado", "VPHW51": "tornado",
    "VYSE51": "nankai_explanation", "VYSE52": "nankai_explanation",
}
NANKAI_WORDS = {"巨大地震警戒": "nankai_alert", "巨大地震注意": "nankai_caution",
                "調査中": "nankai_investigating", "調査終了": "nankai_ended"}
LIFTED_EXPLICITLY = ("*VPWW5*.xml", "*VXWW50.xml", "*VXKOii.xml", "*VFVO50.xml")


def _type(path: Path) -> str:
    return path.stem.rsplit("_", 1)[-1]


def _xpath_text(path: Path, xp: str) -> list[str]:
    return [t.strip() for t in etree.parse(str(path)).xpath(xp)]


def expected_key(path: Path) -> str | None:
    t = _type(path)
    if t in ONE_SHOT_TYPES:
        return ONE_SHOT_TYPES[t]
    if t == "VYSE50":
        title = _xpath_text(path, "//*[local-name()='Head']/*[local-name()='Title']/text()")[0]
        return next(v for k, v in NANKAI_WORDS.items() if k in title)
    if t == "VTSE41":
        kinds = _xpath_text(path, "//*[local-name()='Tsunami']/*[local-name()='Forecast']/*[local-name()='Item']"
                                  "/*[local-name()='Category']/*[local-name()='Kind']/*[local-name()='Name']/text()")
        warned = any(("警報" in k or "注意報" in k) and "解除" not in k for k in kinds)
        return None if warned else "tsunami_forecast"
    return None


def _is_cancel(path: Path) -> bool:
    """A 取消 is never in force, so it has no lifetime to test."""
    return _xpath_text(path, "//*[local-name()='Head']/*[local-name()='InfoType']/text()") == ["取消"]


ONE_SHOT = [p for p in corpus_files("xml/jma", "*.xml") if expected_key(p) and not _is_cancel(p)]


def _issue(path: Path):
    a = parse(path.read_bytes())[0]
    assert a.info_type != "cancel", path
    return a


@pytest.mark.parametrize("path", ONE_SHOT, ids=[p.name for p in ONE_SHOT])
def test_one_shot_information_expires_on_time(path):
    a = _issue(path)
    issued = parse_time(a.issued_at)
    end = issued + timedelta(seconds=LIFETIMES[expected_key(path)])
    until = parse_time(a.valid_until)
    if until is not None and until < end:
        end = until  # the telegram's own valid time, when earlier
    lc = Lifecycle()
    assert lc.ends_at(a) == end
    outcome = lc.apply(a, now=issued).outcome
    if a.cleared:  # e.g. 津波予報 解除 everywhere: lifted by its own statuses
        assert outcome == "lifted"
        return
    assert outcome == ("active" if end > issued else "expired")
    if end <= issued:
        return
    assert lc.expire(end - timedelta(seconds=1)) == [] and lc.fate(a.id) == "active"
    gone = lc.expire(end)
    assert [(t.kind, t.reason, t.alert.id) for t in gone] == [("withdrawn", "expired", a.id)]
    assert lc.active() == [] and lc.fate(a.id) == "expired"


def test_every_one_shot_type_of_the_corpus_is_covered():
    assert {expected_key(p) for p in ONE_SHOT} >= {
        "eew", "seismic_intensity", "hypocenter", "earthquake", "earthquake_activity",
        "tsunami_forecast", "tsunami_info", "eruption_flash", "record_rain", "tornado",
        "ashfall_quick", "nankai_caution", "nankai_alert", "nankai_investigating"}


LIFTED = corpus_files("xml/jma", *LIFTED_EXPLICITLY)


@pytest.mark.parametrize("path", LIFTED, ids=[p.name for p in LIFTED])
def test_warnings_jma_lifts_explicitly_have_no_lifetime(path):
    a = parse(path.read_bytes())[0]
    lc = Lifecycle()
    assert lc.ends_at(a) is None
    outcome = lc.apply(a, now=parse_time(a.issued_at)).outcome
    assert lc.expire(datetime(2100, 1, 1, tzinfo=UTC)) == []
    assert lc.fate(a.id) == outcome  # still active (or lifted / none by its own statuses)


@pytest.mark.parametrize("name", ["37_01_01_240613_VXSE43.xml", "32-35_07_06_240613_VXSE53.xml",
                                  "32-35_01_03_100514_VXSE53.xml", "19_01_01_091210_VPHW50.xml"])
def test_an_old_telegram_posted_today_is_expired_and_never_in_force(corpus, name):
    a = parse((corpus / "xml/jma" / name).read_bytes())[0]
    lc = Lifecycle()
    applied = lc.apply(a, now=datetime(2026, 11, 30, 12, tzinfo=UTC))
    assert applied.outcome == "expired" and applied.transitions == ()
    assert lc.active() == [] and lc.fate(a.id) == "expired"


def test_lifetimes_are_configurable(corpus, tmp_path):
    a = parse((corpus / "xml/jma/37_01_01_240613_VXSE43.xml").read_bytes())[0]
    issued = parse_time(a.issued_at)
    cfg = tmp_path / "lalert.toml"
    cfg.write_text('[lifecycle]\nstale_after = "90m"\n[lifecycle.lifetimes]\neew = "2h"\nweather_warning = "3d"\n',
                   encoding="utf-8")
    c = load_config(cfg, env={})
    assert (c.lifetimes["eew"], c.lifetimes["weather_warning"], c.stale_after) == (7200, 3 * 86400, 5400)
    lc = Lifecycle(lifetimes=c.lifetimes)
    assert lc.ends_at(a) == issued + timedelta(hours=2)
    assert load_config(None, env={"LALERT_LIFECYCLE__LIFETIMES__EEW": "none"}).lifetimes["eew"] is None
    with pytest.raises(ValueError, match="unknown key 'eeww'"):
        lifetimes_with({"eeww": "1h"})


@pytest.mark.parametrize("value,seconds", [(600, 600), ("90m", 5400), ("6h", 21600), ("7d", 604800),
                                           ("45s", 45), ("none", None), (0, None), (False, None)])
def test_durations(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["soon", "-1h", True, "1w"])
def test_bad_durations(value):
    with pytest.raises(ValueError):
        parse_duration(value)


def test_bench_replays_corpus_telegrams_as_sent_now(corpus):
    """bench/ingest.py moves report times to "now" so a burst still builds an active set."""
    from bench.ingest import to_now

    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    raw = (corpus / "xml/jma/19_01_01_091210_VPHW50.xml").read_bytes()  # 竜巻注意情報, 2009
    old = parse(raw)[0]
    moved = parse(to_now(raw, now))[0]
    assert parse_time(moved.issued_at) == now
    # the valid time keeps its distance from the report time
    assert (parse_time(moved.valid_until) - parse_time(moved.issued_at)
            == parse_time(old.valid_until) - parse_time(old.issued_at))
    assert Lifecycle().apply(moved, now=now).outcome == "active"
    assert Lifecycle().apply(old, now=now).outcome == "expired"


@pytest.mark.parametrize("names", [("37_01_01_240613_VXSE43.xml", "32-35_01_03_100514_VXSE53.xml",
                                    "67_01_01_140927_VFVO56.xml", "18_01_01_100806_VPOA50.xml")])
def test_old_telegrams_posted_to_the_daemon_are_expired_history(tmp_path, corpus, names):
    daemon = start_daemon(tmp_path / "home")
    try:
        _old_telegrams_expired(daemon, corpus, names)
    finally:
        daemon.stop()


def _old_telegrams_expired(daemon, corpus, names):
    ids = []
    for name in names:
        status, receipt = daemon.post((corpus / "xml/jma" / name).read_bytes())
        assert status == 202, receipt
        ids.append(receipt["id"])
    daemon.wait_applied()
    items = {i["id"]: i for i in daemon.get_json("/api/v1/history?limit=20")[1]["items"]}
    assert [items[i]["outcome"] for i in ids] == ["expired"] * len(ids)
    assert daemon.get_json("/api/v1/alerts")[1]["features"] == []
    # a fresh 竜巻注意情報 (report time now) is in force: the lifetime counts from the report
    from bench.ingest import to_now

    raw = to_now((corpus / "xml/jma/19_01_01_091210_VPHW50.xml").read_bytes(), datetime.now(UTC))
    status, receipt = daemon.post(raw)
    daemon.wait_applied()
    assert [f["id"] for f in daemon.get_json("/api/v1/alerts")[1]["features"]] == receipt["alerts"]
