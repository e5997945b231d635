"""The daemon's core promises on both backends: ``sqlite`` (SQLite store, in-memory bus)
and ``postgis+redis`` (PostGIS store, Redis Streams bus), through a real ``lalert run``.

Ingest answers 202 only after the journal commit; the lifecycle over HTTP; history;
kill -9 mid-burst and restart equals a clean replay and no output acts twice; push
matching (in PostGIS with that store). Worker processes: ``tests/test_workers.py``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections import Counter

from tests.backends import Backend, backend, pg_server, redis_server  # noqa: F401 (fixtures)
from tests.daemon_helpers import LALERT, ROOT, Daemon, cap, start_daemon
from tests.test_daemon_crash import burst_messages, send_burst

RECORDER = "tests.daemon_helpers:RecordingOutput"


def active_ids(d: Daemon, query: str = "") -> list[str]:
    d.wait_applied()
    return sorted(f["id"] for f in d.get_json(f"/api/v1/alerts{query}")[1]["features"])


def test_ingest_202_after_commit_lifecycle_and_history(backend: Backend, tmp_path):  # noqa: F811
    with start_daemon(tmp_path / "home", env=backend.env) as d:
        status, body = d.post(cap("b-1", sent="2026-07-03T17:00:00+09:00"))
        assert status == 202 and body["outcome"] == "accepted"
        # the 202 came after the commit: the message is in the journal right away
        status, row = d.get_json(f"/api/v1/messages/{body['id']}")
        assert status == 200 and row["sha256"]
        ref = "test@lalert.example,b-1,2026-07-03T17:00:00+09:00"
        assert d.post(cap("b-2", sent="2026-07-03T17:10:00+09:00", msg_type="Update",
                          references=ref))[0] == 202
        assert active_ids(d) == ["b-2"]
        assert d.post(cap("b-3", sent="2026-07-03T17:20:00+09:00", msg_type="Cancel",
                          references=ref))[0] == 202
        assert d.post(cap("b-x", status="Exercise"))[0] == 202
        assert active_ids(d) == [] and active_ids(d, "?drills=true") == ["b-x"]
        status, dup = d.post(cap("b-1", sent="2026-07-03T17:00:00+09:00"))
        assert dup["outcome"] == "duplicate"
        assert d.post(b"<not-an-alert/>")[0] == 400
        d.wait_applied()
        hist = d.get_json("/api/v1/history?limit=50")[1]
        items = hist.get("items", hist.get("messages", []))
        outcomes = Counter(i["outcome"] for i in items)
        assert outcomes["duplicate"] == 1 and outcomes["rejected"] == 1
        assert {"cancelled", "superseded"} & set(outcomes)
        h = d.health()
        assert h["journal"]["messages"] == 6 and h["journal"]["applied"] == 6
        if backend.shared:  # it really is in PostgreSQL
            import psycopg

            with psycopg.connect(backend.store_url) as c:
                assert c.execute("SELECT count(*) FROM messages").fetchone()[0] == 6
        # a clean restart rebuilds the same state from the store
        d.restart()
        assert active_ids(d) == [] and active_ids(d, "?drills=true") == ["b-x"]


def test_kill_9_mid_burst_restart_equals_clean_replay(backend: Backend, tmp_path):  # noqa: F811
    msgs = burst_messages()[:240]
    d = start_daemon(tmp_path / "home", env=backend.env, outputs=[RECORDER])
    try:
        acked, killed = send_burst(d, msgs, kill_after=len(msgs) // 2)
        assert killed
        d.start()
        rest = [m for m in msgs if m[0] not in {a for _, a in acked}]
        acked2, _ = send_burst(d, rest, kill_after=10**9)
        d.wait_applied()
        # nothing acknowledged is lost
        got = {r["id"] for r in _history(d)}
        assert {i for i, _ in acked + acked2} <= got
        out = subprocess.run([*LALERT, "replay", "--home", str(d.home), "--json", "--dry-run"],
                             env=d.env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert active_ids(d) == json.loads(out.stdout)["active"]
        if backend.shared:  # the GIS layer says the same after the crash
            import psycopg

            with psycopg.connect(backend.store_url) as c:
                gis = sorted(r[0] for r in c.execute("SELECT id FROM alerts_in_force"))
            assert gis == active_ids(d)
        d.wait(lambda: d.health()["outputs"]["recorder"]["backlog"] == 0, 30,
               "the recorder to catch up")
        seqs = _recorded(d)
        assert len(seqs) == len(set(seqs)), "an output acted twice on one change"
    finally:
        d.stop()


def _history(d: Daemon) -> list[dict]:
    out, before = [], ""
    while True:
        page = d.get_json(f"/api/v1/history?limit=200{before}")[1]
        items = page.get("items", page.get("messages", []))
        out += items
        nxt = page.get("next")
        if not items or not nxt:
            return out
        before = "&before=" + (nxt.split("before=")[1].split("&")[0] if "before=" in nxt
                               else items[-1]["id"])


def _recorded(d: Daemon) -> list[int]:
    p = d.home / "recorder.log"
    return [int(x.split()[0]) for x in p.read_text().splitlines()] if p.exists() else []


async def test_push_matching(backend: Backend, tmp_path):  # noqa: F811
    """Webhook subscriptions by point + radius and by polygon: only those the footprint
    reaches are delivered to (with PostGIS the place test runs in the database)."""
    from aiohttp.test_utils import TestClient, TestServer

    from lalert.config import load_config
    from lalert.server.app import create_app
    from lalert.server.keys import STORES
    from tests.push_fakes import IN_ASO, WebhookReceiver
    from tests.test_push_daemon import INSIDE, TOKEN, message

    auth = {"Authorization": f"Bearer {TOKEN}"}
    lat, lon = INSIDE
    square = {"type": "Polygon", "coordinates": [[
        [lon - 0.01, lat - 0.01], [lon + 0.01, lat - 0.01], [lon + 0.01, lat + 0.01],
        [lon - 0.01, lat + 0.01], [lon - 0.01, lat - 0.01]]]}
    far_square = {"type": "Polygon", "coordinates": [[
        [IN_ASO[1] - 0.01, IN_ASO[0] - 0.01], [IN_ASO[1] + 0.01, IN_ASO[0] - 0.01],
        [IN_ASO[1] + 0.01, IN_ASO[0] + 0.01], [IN_ASO[1] - 0.01, IN_ASO[0] + 0.01],
        [IN_ASO[1] - 0.01, IN_ASO[0] - 0.01]]]}
    # 2 km east of the footprint's edge (130.76): reached with a 3 km radius, not with 1 km
    east = {"lat": 32.82, "lon": 130.7815}
    wheres = {"near": {"point": {"lat": lat, "lon": lon}, "radius_m": 200},
              "poly": {"polygon": square},
              "east3km": {"point": east, "radius_m": 3000},
              "east1km": {"point": east, "radius_m": 1000},
              "far": {"point": {"lat": IN_ASO[0], "lon": IN_ASO[1]}, "radius_m": 200},
              "farpoly": {"polygon": far_square}}
    async with WebhookReceiver() as rx:
        config = load_config(env={}, overrides={
            "home": str(tmp_path / "home"), "store": backend.store_url, "bus": backend.bus_url,
            "ingest.tokens": [{"name": "desk", "token": TOKEN}],
            "poller.enabled": False, "spool.enabled": False,
            "outputs.enabled": ["webhook"], "outputs.webhook": {"base_delay_s": 0.05},
            "push.allow_destinations": ["127.0.0.0/8"]})
        client = TestClient(TestServer(create_app(config)))
        await client.start_server()
        try:
            for name, where in wheres.items():
                r = await client.post("/api/v1/subscriptions", headers=auth, json={
                    "channel": "webhook", "url": rx.url(f"/{name}"), "where": where})
                assert r.status == 201, await r.text()
                rx.secrets[f"/{name}"] = (await r.json())["secret"]
            store = client.app[STORES].subscriptions()  # what the outputs were handed
            assert type(store).__name__ == ("PgSubscriptionStore" if backend.shared
                                            else "SubscriptionStore")
            r = await client.post("/api/v1/messages", data=message(),
                                  headers={**auth, "Content-Type": "application/xml"})
            assert r.status == 202, await r.text()
            async with asyncio.timeout(20):
                while not all(rx.bodies.get(f"/{n}") for n in ("near", "poly", "east3km")):
                    await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)  # would a wrong delivery still arrive?
            assert sorted(rx.bodies) == ["/east3km", "/near", "/poly"]
            assert all(len(v) == 1 for v in rx.bodies.values()) and rx.bad_signatures == 0
        finally:
            await client.close()
