"""Entries lalert cannot read, where another process can write: Redis stream entries and
cached journal rows (PostgreSQL, SQLite) holding foreign bytes, another schema version, or
a Python-object payload that would run code if loaded.

Each is refused without running anything, kept (never acknowledged, never deleted or
overwritten), named in ``/healthz`` and counted in ``/metrics``; the entries before and
after it are processed as usual. Real Redis and PostgreSQL (``tests/backends.py``).
"""

from __future__ import annotations

import asyncio
import pickle
import secrets
import sqlite3

import pytest

from lalert import codec
from tests.backends import Backend, backend, pg_server, redis_server  # noqa: F401 (fixtures)
from tests.daemon_helpers import Daemon, cap, start_daemon

RECORDER = "tests.daemon_helpers:RecordingOutput"


class _Runs:
    """If ever loaded, creates ``marker``: proof that stored bytes ran code."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _payload(marker) -> bytes:
    return pickle.dumps(_Runs(str(marker)), protocol=pickle.HIGHEST_PROTOCOL)


def _foreign_entries(marker) -> list[dict[str, bytes]]:
    """What a foreign client might XADD: lalert's field names with bytes lalert did not
    write, and fields that are not lalert's at all."""
    fields = {"seq": b"1", "kind": b"new", "reason": b"issue", "drill": b"0",
              "at": b"2026-07-03T17:00:00+09:00", "key": b'["k"]'}
    return [
        {**fields, "alert": _payload(marker)},
        {**fields, "alert": b"lalert-pickle/1\n" + _payload(marker)},  # lalert < 1.1 wrote this
        {**fields, "alert": b"\x00\xff arbitrary \x93"},
        {**fields, "alert": b"lalert/9.0;msgpack\n\x90"},  # a future schema version
        {**fields, "alert": codec.pack([]), "seq": b"not a number"},
        {"something": b"else entirely"},
    ]


# --- the bus alone -----------------------------------------------------------------------


class _Out:
    name = "probe"

    def __init__(self) -> None:
        self.seen: list[int] = []

    async def handle(self, change) -> None:
        self.seen.append(change.seq)


def _change(seq: int):
    from lalert.changes import AlertChange
    from lalert.model import Alert, EnrichedAlert

    alert = Alert(format="cap", id=f"c-{seq}", event_id=f"c-{seq}", serial=1,
                  info_type="issue", status="actual", kind="other", title="t",
                  issued_at="2026-07-03T17:00:00+09:00", raw_sha256="0" * 64)
    return AlertChange(seq=seq, kind="new", reason="issue", alert=EnrichedAlert(alert=alert))


async def test_foreign_stream_entries_are_kept_unread_and_the_rest_flows(
        redis_server, tmp_path):  # noqa: F811
    import redis.asyncio as aioredis

    from lalert.bus.redis import RedisBus

    stream = f"foreign-{secrets.token_hex(4)}"
    url = redis_server.url(stream=stream, claim_idle=0.3)
    marker = tmp_path / "ran"

    async def nothing(after: int) -> list:
        return []

    pub = RedisBus.from_url(url)
    consumer = RedisBus.from_url(url)
    consumer.publisher = False
    out = _Out()
    consumer.add(out, drills=False, cursor=0)
    follower = RedisBus.from_url(url)
    follower.publisher = False
    followed: list[int] = []
    follower.followers.append(lambda change, key: followed.append(change.seq))
    for b in (pub, consumer, follower):
        await b.start(nothing)
    r = aioredis.from_url(redis_server.url())
    try:
        pub.publish(_change(1), '["k1"]')
        async with asyncio.timeout(10):
            while await r.xlen(stream) < 1:
                await asyncio.sleep(0.02)
        foreign = _foreign_entries(marker)
        for i, fields in enumerate(foreign, start=1):  # between seq 1 and seq 2
            await r.xadd(stream, fields, id=f"1-{i}")
        pub.publish(_change(2), '["k2"]')
        async with asyncio.timeout(15):
            while out.seen != [1, 2] or followed != [1, 2]:
                await asyncio.sleep(0.02)
        # claimed back and retried at least once (claim_idle), still neither run nor acked
        async with asyncio.timeout(15):
            while True:
                pending = await r.xpending_range(stream, "out:probe", min="-", max="+",
                                                 count=100)
                if pending and all(p["times_delivered"] >= 2 for p in pending):
                    break
                await asyncio.sleep(0.05)
        assert sorted(p["message_id"] for p in pending) == [
            f"1-{i}".encode() for i in range(1, len(foreign) + 1)]
        assert await r.xlen(stream) == 2 + len(foreign)  # nothing deleted
        assert out.seen == [1, 2]  # handled once each, around the foreign entries
        assert consumer.refused.counts() == {"bus:probe": len(foreign)}  # each named once
        assert follower.refused.counts() == {"bus:view": len(foreign)}
        reasons = " | ".join(e["reason"] for e in consumer.refused.entries())
        assert "'9.0'" in reasons and "older lalert" in reasons and "not a lalert entry" in reasons
        assert not marker.exists()
    finally:
        for b in (follower, consumer, pub):
            await b.stop()
        await r.aclose()


async def test_a_foreign_entry_ahead_of_the_stream_is_an_alarm(redis_server):  # noqa: F811
    """A client that XADDs with an automatic (time-based) id puts the stream ahead of
    every seq: lalert's next change cannot be appended, and that is named, not lost
    silently as if it were already published."""
    import redis.asyncio as aioredis

    from lalert.bus.redis import RedisBus

    stream = f"ahead-{secrets.token_hex(4)}"

    async def nothing(after: int) -> list:
        return []

    pub = RedisBus.from_url(redis_server.url(stream=stream))
    await pub.start(nothing)
    r = aioredis.from_url(redis_server.url())
    try:
        pub.publish(_change(1), "")
        async with asyncio.timeout(10):
            while await r.xlen(stream) < 1:
                await asyncio.sleep(0.02)
        await r.xadd(stream, {"x": b"y"})  # id "<now in ms>-0"
        pub.publish(_change(1), "")  # a republish of what is there is no alarm ...
        pub.publish(_change(2), "")  # ... this one is (handled after it, in order)
        async with asyncio.timeout(10):
            while not pub.skipped_changes():
                await asyncio.sleep(0.02)
        assert [(s["output"], s["seq"]) for s in pub.skipped_changes()] == [("publish", 2)]
    finally:
        await pub.stop()
        await r.aclose()


# --- through a daemon: /healthz and /metrics -----------------------------------------------


def _metric(d: Daemon, name: str) -> dict[str, float]:
    text = d.get("/metrics")[2].decode()
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, value = line.rsplit(" ", 1)
            out[labels[len(name):]] = float(value)
    return out


def _recorded(d: Daemon) -> list[int]:
    p = d.home / "recorder.log"
    return [int(x.split()[0]) for x in p.read_text().splitlines()] if p.exists() else []


def _active(d: Daemon) -> list[str]:
    d.wait_applied()
    return sorted(f["id"] for f in d.get_json("/api/v1/alerts")[1]["features"])


def test_daemon_names_a_foreign_stream_entry_and_goes_on(backend: Backend, tmp_path):  # noqa: F811
    if backend.name != "postgis+redis":
        pytest.skip("n/a: a stream exists with the Redis bus only")
    import redis

    marker = tmp_path / "ran"
    stream = backend.bus_url.split("stream=")[1].split("&")[0]
    with start_daemon(tmp_path / "home", env=backend.env, outputs=[RECORDER]) as d:
        assert d.post(cap("f-1"))[0] == 202
        d.wait(lambda: _recorded(d) == [1], what="seq 1 recorded")
        r = redis.Redis.from_url(backend.bus_url.split("?")[0])
        r.xadd(stream, _foreign_entries(marker)[0], id="1-1")
        assert d.post(cap("f-2"))[0] == 202
        d.wait(lambda: _recorded(d) == [1, 2], what="seq 2 recorded past the foreign entry")
        h = d.wait(lambda: (x := d.health())["refused"] and x, what="the entry named")
        assert h["status"] == "degraded"
        assert h["refused"] == {"bus:recorder": 1}
        assert any("bus:recorder entry 1-1 kept unread" in a for a in h["alarms"]), h["alarms"]
        assert _metric(d, "lalert_refused_entries_total") == {'{where="bus:recorder"}': 1.0}
        assert r.xpending(stream, "out:recorder")["pending"] == 1  # never acknowledged
        assert r.xlen(stream) == 3
        r.close()
    assert not marker.exists()


def test_foreign_cached_journal_row_is_kept_named_and_reparsed(backend: Backend, tmp_path):  # noqa: F811
    """A journal row whose cached alerts are foreign bytes (PostgreSQL ``BYTEA``, SQLite
    ``alerts``): the alert is parsed again from the row's raw bytes, the row is left as it
    is, and the daemon names it."""
    marker = tmp_path / "ran"
    payload = _payload(marker)
    home = tmp_path / "home"
    with start_daemon(home, env=backend.env) as d:
        assert d.post(cap("j-1"))[0] == 202
        assert d.post(cap("j-2"))[0] == 202
        assert _active(d) == ["j-1", "j-2"]
    if backend.shared:
        import psycopg

        with psycopg.connect(backend.store_url) as c:
            c.execute("UPDATE messages SET alerts=%s WHERE id=1", (payload,))
    else:
        with sqlite3.connect(home / "journal.sqlite") as c:
            c.execute("UPDATE messages SET alerts=? WHERE id=1", (payload,))
    with start_daemon(home, env=backend.env) as d:
        assert _active(d) == ["j-1", "j-2"]  # rebuilt from the raw bytes, nothing lost
        h = d.health()
        assert h["refused"] == {"store:journal": 1}
        assert any("store:journal entry message 1 kept unread" in a for a in h["alarms"])
        assert _metric(d, "lalert_refused_entries_total") == {'{where="store:journal"}': 1.0}
    assert not marker.exists()
    if backend.shared:
        with psycopg.connect(backend.store_url) as c:
            kept = c.execute("SELECT alerts FROM messages WHERE id=1").fetchone()[0]
    else:
        with sqlite3.connect(home / "journal.sqlite") as c:
            kept = c.execute("SELECT alerts FROM messages WHERE id=1").fetchone()[0]
    assert bytes(kept) == payload  # kept as it was
