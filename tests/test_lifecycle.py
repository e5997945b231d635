"""Lifecycle: issue → correction → cancel, out-of-order serials, expiry, drills (pure)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lalert.lifecycle import Lifecycle, all_clear, parse_time, rank
from lalert.model import Alert, Evacuation, Hazard
from lalert.parsers import ParseError, parse
from tests.conftest import corpus_files

JST = timezone(timedelta(hours=9))
T0 = datetime(2024, 7, 1, 12, 0, tzinfo=JST)


def mk(
    id: str,
    serial: int | None = 1,
    info: str = "issue",
    *,
    event: str | None = "ev1",
    status: str = "actual",
    minutes: int = 0,
    until: datetime | None = None,
    kind: str = "evacuation",
    fmt: str = "commons",
    **kw,
) -> Alert:
    return Alert(
        format=fmt, id=id, info_type=info, status=status, kind=kind, title=kw.pop("title", "t"),
        issued_at=(T0 + timedelta(minutes=minutes)).isoformat(), raw_sha256="0" * 64,
        event_id=event, serial=serial, valid_until=until.isoformat() if until else None, **kw,
    )


def ids(lc: Lifecycle, drills: bool = False) -> set[str]:
    return {a.id for a in lc.active(drills=drills)}


def test_issue_correction_cancel_sequence():
    lc = Lifecycle()
    r = lc.apply(mk("a1", 1), now=T0)
    assert r.outcome == "active" and [t.kind for t in r.transitions] == ["new"]
    r = lc.apply(mk("a2", 2, minutes=5), now=T0)
    assert [(t.kind, t.reason) for t in r.transitions] == [("updated", "update")]
    assert ids(lc) == {"a2"}
    # a correction of serial 2 keeps serial 2 and (JMA) the same report time
    r = lc.apply(mk("a2c", 2, "correction", minutes=5), now=T0)
    assert [(t.kind, t.reason) for t in r.transitions] == [("updated", "correction")]
    assert r.transitions[0].previous.id == "a2"
    assert ids(lc) == {"a2c"}
    r = lc.apply(mk("a3", 3, "cancel", minutes=9), now=T0)
    assert [(t.kind, t.reason) for t in r.transitions] == [("withdrawn", "cancel")]
    assert ids(lc) == set() and len(lc) == 0
    assert {lc.fate(i) for i in ("a1", "a2", "a2c", "a3")} == {"cancelled"}


def test_out_of_order_serial_never_regresses():
    lc = Lifecycle()
    lc.apply(mk("s3", 3, minutes=3), now=T0)
    r = lc.apply(mk("s1", 1, minutes=1), now=T0)
    assert r.outcome == "superseded" and r.transitions == ()
    lc.apply(mk("s2", 2, minutes=2), now=T0)
    assert ids(lc) == {"s3"}
    assert lc.fate("s1") == "superseded" and lc.fate("s3") == "active"


def test_late_issue_after_cancel_stays_cancelled():
    lc = Lifecycle()
    lc.apply(mk("c", 2, "cancel", minutes=2), now=T0)  # cancel of an event never seen
    r = lc.apply(mk("i", 1, minutes=1), now=T0)
    assert r.transitions == () and ids(lc) == set()
    assert lc.fate("i") == "cancelled"


def test_duplicate_id_changes_nothing():
    lc = Lifecycle()
    lc.apply(mk("a", 1), now=T0)
    r = lc.apply(mk("a", 1), now=T0)
    assert r.outcome == "duplicate" and r.transitions == ()
    assert ids(lc) == {"a"}


def test_separate_events_do_not_interact():
    lc = Lifecycle()
    lc.apply(mk("x", 5, event="e1"), now=T0)
    lc.apply(mk("y", 1, event="e2"), now=T0)
    lc.apply(mk("z", 6, "cancel", event="e1"), now=T0)
    assert ids(lc) == {"y"}


def test_expiry_at_given_time():
    lc = Lifecycle()
    lc.apply(mk("a", until=T0 + timedelta(hours=1)), now=T0)
    lc.apply(mk("b", event="e2"), now=T0)
    assert lc.expire(T0 + timedelta(minutes=59)) == []
    out = lc.expire(T0 + timedelta(hours=1))
    assert [(t.kind, t.reason, t.alert.id) for t in out] == [("withdrawn", "expired", "a")]
    assert ids(lc) == {"b"} and lc.fate("a") == "expired"
    assert lc.expire(T0 + timedelta(hours=2)) == []  # withdrawn once only


def test_already_expired_message_never_becomes_active():
    lc = Lifecycle()
    r = lc.apply(mk("old", until=T0 - timedelta(minutes=1)), now=T0)
    assert r.outcome == "expired" and r.transitions == () and ids(lc) == set()


def test_apply_expires_first_so_replay_matches_live():
    a = mk("a", 1, until=T0 + timedelta(minutes=10))
    b = mk("b", 1, event="e2", minutes=20)
    live = Lifecycle()
    live.apply(a, now=T0)
    live.expire(T0 + timedelta(minutes=15))  # a timer tick between the two messages
    live.apply(b, now=T0 + timedelta(minutes=20))
    replay = Lifecycle()
    replay.apply(a, now=T0)
    r = replay.apply(b, now=T0 + timedelta(minutes=20))
    assert [t.reason for t in r.transitions] == ["expired", "issue"]
    assert ids(live) == ids(replay) == {"b"}


def test_drills_are_kept_apart():
    lc = Lifecycle()
    lc.apply(mk("real", 1), now=T0)
    r = lc.apply(mk("drill", 9, "cancel", status="exercise"), now=T0)
    assert r.drill and r.transitions == ()
    assert ids(lc) == {"real"}  # a drill cancel does not touch the real event
    lc.apply(mk("drill2", 1, status="test", event="d"), now=T0)
    assert ids(lc) == {"real"} and ids(lc, drills=True) == {"drill2"}
    assert all(t.drill for t in lc.apply(mk("d3", 2, status="test", event="d"), now=T0).transitions)


def test_jma_weather_warnings_without_event_id_replace_by_office_and_time():
    lc = Lifecycle()
    kw = dict(event=None, serial=None, fmt="jmaxml", kind="weather_warning",
              publisher="熊本地方気象台", title="熊本県気象警報・注意報")
    h = Hazard(area_code="4310000", area_scheme="jma.city", kind="heavy_rain", name="大雨警報",
               state="issued")
    lc.apply(mk("w1", minutes=0, hazards=(h,), **kw), now=T0)
    lc.apply(mk("w2", minutes=30, hazards=(h,), **kw), now=T0)
    assert ids(lc) == {"w2"}
    lift = Hazard(area_code="4310000", area_scheme="jma.city", kind="heavy_rain", name="大雨警報",
                  state="lifted")
    r = lc.apply(mk("w3", minutes=60, hazards=(lift,), **kw), now=T0)
    assert [(t.kind, t.reason) for t in r.transitions] == [("withdrawn", "lifted")]
    assert ids(lc) == set() and lc.fate("w3") == "lifted"
    # another office's telegram is another event
    lc.apply(mk("w4", minutes=0, hazards=(h,), **{**kw, "publisher": "福岡管区気象台"}), now=T0)
    assert ids(lc) == {"w4"}


def test_cap_update_joins_the_referenced_event():
    lc = Lifecycle()
    lc.apply(mk("urn:1", None, event=None, fmt="cap"), now=T0)
    lc.apply(mk("urn:2", None, "update", event=None, fmt="cap", minutes=5,
                references=("sender@x,urn:1,2024-07-01T12:00:00+09:00",)), now=T0)
    assert ids(lc) == {"urn:2"}
    lc.apply(mk("urn:3", None, "cancel", event=None, fmt="cap", minutes=9,
                references=("sender@x,urn:2,2024-07-01T12:05:00+09:00",)), now=T0)
    assert ids(lc) == set()


def test_all_clear_rules():
    lifted = Evacuation(order="evacuation_order", action="lifted")
    issued = Evacuation(order="evacuation_order", action="issued")
    assert all_clear(mk("a", evacuations=(lifted,)))
    assert not all_clear(mk("a", evacuations=(lifted, issued)))
    assert not all_clear(mk("a"))


# --- property: any arrival order ends in the in-order state --------------------------

_msg = st.tuples(
    st.sampled_from(["e1", "e2", "e3"]),
    st.integers(min_value=1, max_value=6),
    st.sampled_from(["issue", "issue", "update", "correction", "cancel"]),
    st.integers(min_value=0, max_value=3),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_msg, min_size=1, max_size=12), st.randoms(use_true_random=False))
def test_any_permutation_ends_in_the_same_state(specs, rnd):
    msgs = [
        mk(f"m{i}", serial, info, event=ev, minutes=serial * 10 + m)
        for i, (ev, serial, info, m) in enumerate(specs)
    ]
    in_order = sorted(msgs, key=rank)
    shuffled = list(msgs)
    rnd.shuffle(shuffled)
    a, b = Lifecycle(), Lifecycle()
    for m in in_order:
        a.apply(m, now=T0)
    for m in shuffled + shuffled[:3]:  # repeats are duplicates
        b.apply(m, now=T0)
    assert ids(a) == ids(b)
    assert {m.id: a.fate(m.id) for m in msgs} == {m.id: b.fate(m.id) for m in msgs}


# --- corpus: real JMA sequences (issue → correction → cancel, several products) ------

JMA = corpus_files("xml/jma", "*.xml")


def _jma(corpus, *names: str) -> list[Alert]:
    out = []
    for n in names:
        out.extend(parse((corpus / "xml" / "jma" / n).read_bytes(), source=n))
    return out


def _live(a: Alert) -> datetime:
    """A corpus telegram received when it was sent: old samples are past their lifetime
    today (``lalert.vocab.lifetimes``), so sequences are replayed at their own time."""
    return parse_time(a.issued_at)


def _run(alerts: list[Alert], order: list[int]) -> Lifecycle:
    lc = Lifecycle()
    for i in order:
        lc.apply(alerts[i], now=_live(alerts[i]))
    return lc


EEW_WARN = ["37_01_01_240613_VXSE43.xml", "37_01_03_240613_VXSE43.xml"]
EEW_FC = ["36_01_01_240613_VXSE44.xml", "36_01_03_240613_VXSE44.xml",
          "36_01_32_240613_VXSE44.xml", "36_01_33_240613_VXSE44.xml"]


def test_corpus_eew_products_are_separate_events(corpus):
    warn_issue, _ = _jma(corpus, *EEW_WARN)
    fc = _jma(corpus, *EEW_FC)
    assert warn_issue.event_id == fc[0].event_id  # one EventID, two products
    lc = Lifecycle()
    lc.apply(warn_issue, now=_live(warn_issue))
    for a in fc[:3]:
        lc.apply(a, now=_live(a))
    assert ids(lc) == {warn_issue.id, fc[2].id}  # 警報 serial 1 and 予報 serial 32
    lc.apply(fc[3], now=_live(fc[3]))  # 予報 取消 (serial 32) leaves the 警報 alone
    assert ids(lc) == {warn_issue.id}


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1], [1, 3, 0, 2]])
def test_corpus_eew_cancel_wins_in_any_order(corpus, order):
    fc = _jma(corpus, *EEW_FC)
    lc = _run(fc, order)
    assert ids(lc) == set()
    assert {lc.fate(a.id) for a in fc} == {"cancelled"}


def test_corpus_earthquake_info_serials_then_cancel(corpus):
    names = ["32-39_05_01_100831_VXSE53.xml", "32-39_05_04_100831_VXSE53.xml",
             "32-39_05_05_100831_VXSE53.xml", "32-39_05_08_100831_VXSE53.xml",
             "32-39_05_12_100831_VXSE53.xml", "32-39_05_12_100915_VXSE53.xml"]
    alerts = _jma(corpus, *names)
    lc = _run(alerts, [0, 2, 1, 4, 3])  # shuffled, cancel not yet in
    assert ids(lc) == {alerts[4].id}  # serial 8
    lc.apply(alerts[5], now=_live(alerts[5]))  # serial 8 取消
    assert ids(lc) == set()


def test_corpus_volcano_issue_correction_cancel(corpus):
    issue, corr, cancel = _jma(corpus, "67_01_01_140927_VFVO56.xml",
                               "67_01_03_140927_VFVO56.xml", "67_01_04_140927_VFVO56.xml")
    assert (issue.info_type, corr.info_type, cancel.info_type) == ("issue", "correction", "cancel")
    lc = Lifecycle()
    lc.apply(issue, now=_live(issue))
    r = lc.apply(corr, now=_live(corr))
    assert [(t.kind, t.reason) for t in r.transitions] == [("updated", "correction")]
    assert ids(lc) == {corr.id}
    lc.apply(cancel, now=_live(cancel))
    assert ids(lc) == set()
    # the correction arriving after the cancel (same report time) does not revive it
    lc2 = _run([issue, corr, cancel], [2, 0, 1])
    assert ids(lc2) == set()


@pytest.mark.skipif(not JMA, reason="JMA corpus not present")
def test_corpus_whole_jma_set_one_version_per_event():
    lc = Lifecycle()
    for path in JMA:
        try:
            alerts = parse(path.read_bytes(), source=path.name)
        except (ParseError, ImportError):
            continue
        for a in alerts:
            lc.apply(a, now=T0)
    active = lc.active()
    keys = [lc.event_key(a) for a in active]
    assert active and len(keys) == len(set(keys))
    assert all(a.info_type != "cancel" for a in active)


# JMA sends one prefecture's warnings in parallel telegram formats, same office, same
# Head/Title and ReportDateTime: VPWW50 (no 特別警報), VPWW53 (with them), VPWW54 (H27).
NARA = ["15_08_01_130412_VPWW50.xml", "15_08_01_130412_VPWW53.xml"]
TOKYO = ["15_12_02_161130_VPWW53.xml", "15_12_02_161130_VPWW54.xml"]


@pytest.mark.parametrize("order", [[0, 1], [1, 0]])
def test_corpus_parallel_warning_formats_are_one_event(corpus, order):
    old, new = _jma(corpus, *NARA)
    assert (old.type_code, new.type_code) == ("VPWW50", "VPWW53")
    assert (old.level, new.level) == (3, 5)  # VPWW50 cannot say 大雨特別警報
    lc = _run([old, new], order)
    assert ids(lc) == {new.id}  # one alert for residents, the format that says it all
    assert lc.fate(old.id) != "active"
    h53, h54 = _jma(corpus, *TOKYO)
    for a in _run([h53, h54], order).active():
        assert a.id == h54.id


def test_a_newer_report_in_the_older_format_still_replaces_an_older_one(corpus):
    old, new = _jma(corpus, *NARA)
    later = dataclasses.replace(old, id="jmaxml:later", issued_at="2011-09-03T13:00:00+09:00")
    lc = _run([new, later], [0, 1])
    assert ids(lc) == {"jmaxml:later"}  # time first: the parallel format is no trump


def test_per_hazard_warning_telegrams_stay_separate_events(corpus):
    """VPWW55-58 (R06: 大雨 / 土砂 / 高潮 / 暴風, one telegram each) are distinct products."""
    alerts = _jma(corpus, "15_16_01_241031_VPWW56.xml", "15_16_03_241226_VPWW55.xml",
                  "15_16_04_241226_VPWW58.xml")
    lc = _run(alerts, [0, 1, 2])
    assert len({lc.event_key(a) for a in alerts}) == 3
