"""The push outbox in PostgreSQL (``lalert.store.pgpush``), in-process: claims never
overlap, a lapsed lease is claimed again, a clean stop hands its rows back, a fan-out is
written once even when offered to two workers, and the desk's deliveries page reads the
shared rows."""

from __future__ import annotations

import threading

import pytest

from lalert.outputs.delivery import logged
from lalert.storage import Outcome, delivery_id
from tests.backends import pg_server  # noqa: F401 (fixture)
from tests.push_fakes import change, flood


@pytest.fixture
def pg_url(pg_server):  # noqa: F811
    return pg_server.new_database()


def _stores(url: str, n: int, **kw):
    from lalert.store.pgpush import PgPushStore

    return [PgPushStore(url, **kw) for _ in range(n)]


def test_concurrent_claims_are_disjoint_and_cover_every_row(pg_url):
    a, b, c = _stores(pg_url, 3)
    try:
        subs = [f"s{i}" for i in range(1000)]
        held = a.fan_out("webhook", logged(change(1, flood())), subs, take=100)
        assert [j.sub_id for j in held] == subs[:100]
        assert b.fan_out("webhook", logged(change(1, flood())), subs, take=100) == []  # once only
        got: dict[str, list[str]] = {"b": [], "c": []}

        def drain(name: str, store) -> None:
            while jobs := store.claim("webhook", 37):
                got[name] += [j.id for j in jobs]

        threads = [threading.Thread(target=drain, args=(n, s)) for n, s in (("b", b), ("c", c))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        claimed = got["b"] + got["c"]
        assert len(claimed) == len(set(claimed)) == 900  # never the same row twice
        assert set(claimed) | {j.id for j in held} == {delivery_id("webhook", 1, s) for s in subs}
        assert a.claim("webhook", 10) == []  # everything is held by someone
        b.close()  # a clean stop hands its open rows back at once
        assert sorted(j.id for j in a.claim("webhook", 2000)) == sorted(got["b"])
    finally:
        for s in (a, c):
            s.close()


def test_a_lapsed_lease_is_claimed_by_another_worker(pg_url):
    import time

    dead, live = _stores(pg_url, 2, lease_s=0.3)
    try:
        dead._stop.set()  # a worker that stops renewing: as after kill -9
        jobs = dead.fan_out("webhook", logged(change(1, flood())), ["s1", "s2"])
        assert len(jobs) == 2 and live.claim("webhook", 10) == []  # held, lease running
        dead.record([(jobs[0], "sent", Outcome(True, 204), time.time(), 1.0)])
        time.sleep(0.5)
        taken = live.claim("webhook", 10)
        assert [j.sub_id for j in taken] == ["s2"]  # the sent one stays sent
        time.sleep(0.5)  # the live store renews its leases: nobody takes them from it
        assert dead.claim("webhook", 10) == []
        assert live.states("webhook") == {"sent": 1, "pending": 1}
    finally:
        dead.close()
        live.close()


def test_desk_reads_and_retries_the_shared_deliveries(pg_url, tmp_path):
    from lalert.server.desk import deliveries as dd
    from lalert.store.backends import Backends

    stores = Backends(pg_url, tmp_path, lease_s=5)
    try:
        box = stores.push()
        assert box.shared and stores.existing_push() is box
        jobs = box.fan_out("webhook", logged(change(7, flood())), ["s1"])
        box.record([(jobs[0], "dead", Outcome(False, 410, "HTTP 410", final=True), 1e9, 3.0)])
        page = dd.listing(stores, "webhook", "dead")
        assert page["has_store"] and [r["id"] for r in page["rows"]] == [jobs[0].id]
        assert page["rows"][0]["title"] == "避難指示" and page["counts"]["webhook"]["dead"] == 1
        assert dd.detail(stores, jobs[0].id)["attempts"][0]["status"] == 410
        assert dd.retry(stores, jobs[0].id) == "later"  # no dispatcher in this process
        assert box.states("webhook") == {"pending": 1}
        other = _stores(pg_url, 1)[0]  # any push worker picks the retry up
        try:
            assert [j.id for j in other.claim("webhook", 5)] == [jobs[0].id]
        finally:
            other.close()
        assert not (tmp_path / "push.sqlite").exists()
    finally:
        stores.close()


def test_has_any_sees_another_workers_subscriptions(pg_url):
    """The push outputs skip a change when ``has_any`` says the channel has nobody: in
    PostgreSQL it must see a subscription another worker added a moment ago."""
    from lalert.store.pggeo import PgSubscriptionStore
    from lalert.subscriptions import Subscription

    here, there = PgSubscriptionStore(pg_url), PgSubscriptionStore(pg_url)
    try:
        assert not here.has_any("webhook")
        there.add(Subscription("a", "webhook", lat=32.8, lon=130.7, radius_m=0))
        assert here.has_any("webhook") and not here.has_any("webpush")
        there.delete("a")
        assert not here.has_any("webhook")
    finally:
        here.close()
        there.close()
