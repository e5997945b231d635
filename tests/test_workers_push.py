"""Two ``lalert worker --role push`` processes on PostGIS + Redis Streams.

- SSE: a client on each worker sees every change with the same ids (the stream is
  followed by every worker, not split by a consumer group), and ``Last-Event-ID`` resumes
  on either worker from the shared change log in PostgreSQL.
- Webhooks: 200 subscribers, one alert, the deliveries shared between both workers and
  claimed by one at a time: every subscriber gets exactly one delivery id, once. Then a
  kill -9 of a worker in the middle of the next fan-out: the other claims the rows whose
  lease lapsed and finishes them; the only repeats allowed are deliveries confirmed but
  not yet recorded at the kill (same webhook-id, bounded by the deliveries in flight).
- ``/healthz`` names the store and the bus by scheme, never with the URL's credentials.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
from collections import Counter

import aiohttp
import pytest
from aiohttp import web

from lalert.storage import delivery_id
from lalert.subscriptions.model import Subscription
from tests.backends import pg_server, redis_server  # noqa: F401 (fixtures)
from tests.daemon_helpers import cap
from tests.push_fakes import WebhookReceiver
from tests.test_push_sse import next_event
from tests.test_workers import Worker, _env

N_SUBS = 200
WEBHOOK_WORKERS = 4  # per push worker: also the bound on repeats after a kill -9
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SUB_AT = (32.80, 130.70)  # inside the default test polygon of ``cap``


class SlowReceiver(WebhookReceiver):
    """Answers after a short pause, so a fan-out lasts long enough to be interrupted."""

    async def handler(self, request: web.Request) -> web.Response:
        await asyncio.sleep(0.05)
        return await super().handler(request)


@pytest.fixture(scope="module")
def deployment(pg_server, redis_server, tmp_path_factory):  # noqa: F811
    """An applier that also ingests, and two push workers with homes of their own."""
    base = tmp_path_factory.mktemp("push-workers")
    env = _env({
        "LALERT_STORE": pg_server.new_database(),
        "LALERT_BUS": redis_server.url(stream=f"p-{secrets.token_hex(4)}", claim_idle=1),
        "LALERT_OUTPUTS__ENABLED": json.dumps(["sse", "webhook"]),
        "LALERT_OUTPUTS__SSE__HEARTBEAT_S": "1",
        "LALERT_OUTPUTS__WEBHOOK__WORKERS": str(WEBHOOK_WORKERS),
        "LALERT_OUTPUTS__WEBHOOK__BASE_DELAY_S": "0.05",
        "LALERT_PUSH__LEASE_S": "1.5",
        "LALERT_PUSH__POLL_S": "0.2",
        "LALERT_PUSH__ALLOW_DESTINATIONS": "127.0.0.0/8",
    })
    made: list[Worker] = []

    def worker(role: str, home: str) -> Worker:
        w = Worker(home=base / home, token=env["LALERT_INGEST_TOKEN"], env=env, args=[])
        w.role = role
        made.append(w)
        return w.start()

    applier = worker("enrich,ingest", "applier")
    pushes = [worker("push", "push1"), worker("push", "push2")]
    for w in (applier, *pushes):
        w.ready()
    yield env, applier, pushes
    for w in made:
        w.kill()


def _sse_lines(ev: dict) -> tuple[str, str]:
    return ev["id"], ev["data"]["id"]


async def _collect(resp: aiohttp.ClientResponse, n: int) -> list[tuple[str, str]]:
    return [_sse_lines(await next_event(resp)) for _ in range(n)]


async def test_sse_on_every_push_worker_sees_every_change(deployment):
    env, applier, pushes = deployment
    msgs = [cap(f"sse-{i}", sent="2026-07-03T17:00:00+09:00") for i in range(5)]
    msgs.append(cap("sse-0-c", sent="2026-07-03T17:30:00+09:00", msg_type="Cancel",
                    references="test@lalert.example,sse-0,2026-07-03T17:00:00+09:00"))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        streams = [await http.get(p.url + "/api/v1/stream") for p in pushes]
        assert all(r.status == 200 for r in streams)
        for r in streams:  # the stream says `retry:` once its client is registered
            async with asyncio.timeout(10):
                assert (await r.content.readline()).startswith(b"retry:")
        for m in msgs:
            status, body = await asyncio.to_thread(applier.post, m)
            assert status == 202 and body["outcome"] == "accepted", body
        seen = [await _collect(r, len(msgs)) for r in streams]
        for r in streams:
            r.close()
        # the same changes, the same ids, on both workers
        assert seen[0] == seen[1]
        assert [a for _, a in seen[0]] == [f"sse-{i}" for i in range(5)] + ["sse-0-c"]
        ids = [int(i) for i, _ in seen[0]]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        # resume on the *other* worker (or the same) from the shared log in PostgreSQL
        for p, after in ((pushes[1], 1), (pushes[0], 0)):
            r = await http.get(p.url + "/api/v1/stream",
                               headers={"Last-Event-ID": seen[0][after][0]})
            assert await _collect(r, len(msgs) - after - 1) == seen[0][after + 1:]
            r.close()
    import psycopg

    with psycopg.connect(env["LALERT_STORE"]) as c:
        logged = [r[0] for r in c.execute("SELECT seq FROM push_changes ORDER BY seq")]
    assert logged == ids
    assert not any((p.home / "push.sqlite").exists() for p in pushes)


def test_healthz_names_backends_without_credentials(deployment):
    env, applier, pushes = deployment
    for w in (applier, *pushes):
        status, _, raw = w.get("/healthz")
        h = json.loads(raw)
        assert status == 200 and h["store"] == "postgresql" and h["bus"] == "redis"
        for url in (env["LALERT_STORE"], env["LALERT_BUS"]):
            netloc = url.split("://", 1)[1].split("/", 1)[0]  # user@host:port
            assert netloc.encode() not in raw


def _subscriptions(rx: WebhookReceiver) -> list[Subscription]:
    subs = []
    for i in range(N_SUBS):
        path = f"/hook/{i}"
        rx.secrets[path] = SECRET
        subs.append(Subscription(f"s{i}", "webhook", lat=SUB_AT[0], lon=SUB_AT[1], radius_m=100,
                                 target={"url": rx.url(path), "secret": SECRET}))
    return subs


def _seq_of(rx: WebhookReceiver, alert_id: str) -> int | None:
    for bodies in rx.bodies.values():
        for b in bodies:
            if b["id"] == alert_id:
                return int(b["change"]["seq"])
    return None


def _received(rx: WebhookReceiver, seq: int) -> Counter[str]:
    """delivery id → times received, for one change."""
    ids = {delivery_id("webhook", seq, f"s{i}") for i in range(N_SUBS)}
    return Counter({k: v for k, v in rx.ids.items() if k in ids})


async def _until(pred, what: str, timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while not pred():
            await asyncio.sleep(0.05)
    assert pred(), what


async def test_webhook_fan_out_shared_claimed_once_and_finished_after_kill_9(deployment):
    import psycopg

    from lalert.store.pggeo import PgSubscriptionStore

    env, applier, pushes = deployment
    store_url = env["LALERT_STORE"]
    async with SlowReceiver() as rx:
        subs = PgSubscriptionStore(store_url)
        subs.add_many(_subscriptions(rx))
        # 1. one alert, 200 subscribers, both workers: each gets its one id, once
        status, _ = await asyncio.to_thread(applier.post, cap("hook-1"))
        assert status == 202
        await _until(lambda: _seq_of(rx, "hook-1") is not None, "the first delivery")
        seq1 = _seq_of(rx, "hook-1")
        await _until(lambda: len(_received(rx, seq1)) == N_SUBS, "every subscriber")
        with psycopg.connect(store_url) as c:
            await _until(lambda: c.execute(
                "SELECT count(*) FROM push_deliveries WHERE seq=%s AND state='sent'",
                (seq1,)).fetchone()[0] == N_SUBS, "every delivery recorded as sent")
            owners = c.execute("SELECT count(DISTINCT owner) FROM push_deliveries"
                               " WHERE seq=%s", (seq1,)).fetchone()[0]
        got = _received(rx, seq1)
        assert set(got.values()) == {1}, "a delivery was sent twice"
        for i in range(N_SUBS):  # exactly one id per subscriber: the stable delivery id
            bodies = [b for b in rx.bodies[f"/hook/{i}"] if b["change"]["seq"] == seq1]
            assert len(bodies) == 1
        assert delivery_id("webhook", seq1, "s0") in got
        assert owners == 2, "the fan-out was not shared between the push workers"

        # 2. the next alert: kill -9 a worker holding deliveries in the middle of it
        status, _ = await asyncio.to_thread(applier.post, cap("hook-2"))
        assert status == 202
        await _until(lambda: _seq_of(rx, "hook-2") is not None, "the second fan-out")
        seq2 = _seq_of(rx, "hook-2")
        await _until(lambda: len(_received(rx, seq2)) >= 30, "the second fan-out to run")
        with psycopg.connect(store_url) as c:
            held = c.execute("SELECT owner, count(*) AS n FROM push_deliveries WHERE seq=%s"
                             " AND state IN ('pending','retrying') AND owner IS NOT NULL"
                             " GROUP BY owner ORDER BY n DESC", (seq2,)).fetchall()
        assert held, "the fan-out finished before the kill: nothing to test"
        pid = int(held[0][0].split(":")[1])
        victim = next(p for p in pushes if p.proc is not None and p.proc.pid == pid)
        os.kill(pid, signal.SIGKILL)
        victim.proc.wait(10)
        survivor = next(p for p in pushes if p is not victim)
        await _until(lambda: len(_received(rx, seq2)) == N_SUBS, "the survivor to finish")
        with psycopg.connect(store_url) as c:
            await _until(lambda: c.execute(
                "SELECT count(*) FROM push_deliveries WHERE seq=%s AND state='sent'",
                (seq2,)).fetchone()[0] == N_SUBS, "every delivery recorded as sent")
            finished_by = {r[0] for r in c.execute(
                "SELECT DISTINCT owner FROM push_deliveries WHERE seq=%s", (seq2,))}
        got = _received(rx, seq2)
        repeats = sum(n - 1 for n in got.values())
        assert max(got.values()) <= 2 and repeats <= WEBHOOK_WORKERS, got.most_common(5)
        assert any(o.split(":")[1] == str(survivor.proc.pid) for o in finished_by)
        assert rx.bad_signatures == 0
        h = survivor.health()
        assert h["status"] == "ok"
