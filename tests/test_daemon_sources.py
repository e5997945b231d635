"""Spool directory and JMA Atom poller, against a real daemon. The feeds are served from
corpus files by a local aiohttp server on loopback; nothing goes to the internet."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from pathlib import Path

import pytest
from aiohttp import web

from tests.conftest import corpus_files
from tests.daemon_helpers import Daemon, cap, start_daemon

JMA_FILES = corpus_files("xml/jma", "*VXSE5[23].xml")[:8]


# --- spool -----------------------------------------------------------------------------


def test_spool_journals_and_moves_files(tmp_path):
    with start_daemon(tmp_path / "home") as d:
        incoming = d.home / "spool" / "incoming"
        assert incoming.is_dir()
        # writers use *.tmp then rename; a half-written .tmp is never read
        (incoming / "partial.xml.tmp").write_bytes(b"<alert")
        (incoming / "good.xml.tmp").write_bytes(cap("spool-1"))
        (incoming / "good.xml.tmp").rename(incoming / "good.xml")
        (incoming / "bad.xml").write_bytes(b"not xml at all")
        done, rejected = d.home / "spool" / "done", d.home / "spool" / "rejected"
        d.wait(lambda: list(done.glob("*good.xml")) and list(rejected.glob("*bad.xml")),
               timeout=20, what="spool files to move")
        assert (incoming / "partial.xml.tmp").exists()
        d.wait_applied()
        items = d.get_json("/api/v1/history")[1]["items"]
        by_sender = {i["sender"]: i for i in items}
        assert by_sender["good.xml"]["source"] == "spool"
        assert by_sender["good.xml"]["outcome"] == "active"
        assert by_sender["bad.xml"]["outcome"] == "rejected" and by_sender["bad.xml"]["reason"]
        assert "spool-1" in [f["id"] for f in d.get_json("/api/v1/alerts")[1]["features"]]
        assert d.health()["spool"]["rejected"] == 1


# --- Atom poller -------------------------------------------------------------------------


class FeedServer:
    """Atom feeds of corpus files on a loopback port, in a background thread."""

    def __init__(self) -> None:
        self.feeds: dict[str, list[Path]] = {"long.xml": [], "high.xml": []}
        self.requests: list[tuple[str, str | None, int]] = []
        self.fetched: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> FeedServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_get("/feed/{name}", self._feed)
        app.router.add_get("/data/{name}", self._data)
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()

    def stop(self) -> None:
        async def _stop() -> None:
            await self.runner.cleanup()
        asyncio.run_coroutine_threadsafe(_stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/feed/{name}"

    def atom(self, name: str) -> bytes:
        entries = []
        for i, p in enumerate(self.feeds[name]):
            entries.append(
                f"<entry><title>{p.stem}</title><id>urn:uuid:test-{p.stem}</id>"
                f"<updated>2024-01-01T00:{i:02d}:00Z</updated>"
                f"<author><name>気象庁</name></author>"
                f'<link type="application/xml" href="/data/{p.name}"/>'
                f"<content type=\"text\">{p.stem}</content></entry>")
        return ('<?xml version="1.0" encoding="utf-8"?>'
                '<feed xmlns="http://www.w3.org/2005/Atom" lang="ja">'
                f"<title>test feed</title><id>urn:test:{name}</id>"
                f"<updated>2024-01-01T00:{len(entries):02d}:00Z</updated>"
                + "".join(entries) + "</feed>").encode()

    async def _feed(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = self.atom(name)
        etag = '"' + hashlib.sha1(body).hexdigest() + '"'
        inm = request.headers.get("If-None-Match")
        status = 304 if inm == etag else 200
        self.requests.append((name, inm, status))
        if status == 304:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, content_type="application/atom+xml",
                            headers={"ETag": etag})

    async def _data(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.fetched.append(name)
        for paths in self.feeds.values():
            for p in paths:
                if p.name == name:
                    return web.Response(body=p.read_bytes(), content_type="application/xml")
        raise web.HTTPNotFound()


@pytest.fixture
def feeds():
    srv = FeedServer().start()
    yield srv
    srv.stop()


def poller_config(srv: FeedServer, silence_after: float, long_interval: float = 0.3) -> str:
    return f"""
[outputs]
enabled = []
[poller]
enabled = true
[[poller.feeds]]
name = "test-long"
url = "{srv.url('long.xml')}"
long = true
interval = {long_interval}
silence_after = 3600
[[poller.feeds]]
name = "test-high"
url = "{srv.url('high.xml')}"
interval = 0.3
silence_after = {silence_after}
"""


def feed_items(d: Daemon) -> list[dict]:
    return [i for i in d.get_json("/api/v1/history?limit=500")[1]["items"]
            if i["source"] == "feed"]


@pytest.mark.skipif(len(JMA_FILES) < 8, reason="JMA corpus not present")
def test_poller_backfills_dedupes_and_uses_conditional_get(tmp_path, feeds):
    feeds.feeds["long.xml"] = JMA_FILES[:6]
    feeds.feeds["high.xml"] = JMA_FILES[4:7]  # overlaps the long feed by two entries
    d = start_daemon(tmp_path / "home", config_text=poller_config(feeds, 3600),
                     env={"LALERT_POLLER__ENABLED": "true"})
    try:
        d.wait(lambda: len(feed_items(d)) == 7, timeout=30, what="7 feed entries journaled")
        # the long feed was read first (back-fill), then the high-frequency one
        assert feeds.requests[0][0] == "long.xml"
        assert sorted(feeds.fetched) == sorted(p.name for p in JMA_FILES[:7])  # each once
        d.wait(lambda: any(s == 304 for _, _, s in feeds.requests), timeout=10,
               what="a conditional GET answered 304")
        assert all(inm for n, inm, s in feeds.requests if s == 304)
        senders = {i["sender"] for i in feed_items(d)}
        assert senders == {feeds.url("long.xml"), feeds.url("high.xml")}
        # a new entry appears in the high-frequency feed
        feeds.feeds["high.xml"] = [*feeds.feeds["high.xml"], JMA_FILES[7]]
        d.wait(lambda: len(feed_items(d)) == 8, timeout=20, what="the new entry")
        status = {f["name"]: f for f in d.health()["feeds"]}
        assert status["test-high"]["new_entries"] == 2 and not status["test-high"]["alarm"]
        # restart on the same home: entry ids are remembered, nothing is fetched again
        n_fetched = len(feeds.fetched)
        d.restart()
        d.wait(lambda: all(f["fetched"] >= 2 for f in d.health()["feeds"]), timeout=20,
               what="feeds polled after restart")
        assert len(feeds.fetched) == n_fetched
        assert len(feed_items(d)) == 8
    finally:
        d.stop()


@pytest.mark.skipif(len(JMA_FILES) < 2, reason="JMA corpus not present")
def test_silent_feed_raises_a_visible_alarm(tmp_path, feeds):
    feeds.feeds["long.xml"] = JMA_FILES[:1]
    feeds.feeds["high.xml"] = []
    # The long feed polls slowly here: a fetch is late after three intervals, and 0.3 s
    # intervals made it "silent" too whenever the machine was busy.
    d = start_daemon(tmp_path / "home", config_text=poller_config(feeds, 1.5, long_interval=3.0),
                     env={"LALERT_POLLER__ENABLED": "true"})
    try:
        h = d.wait(lambda: (lambda h: h if h["status"] == "degraded" else None)(d.health()),
                   timeout=20, what="the silence alarm")
        assert h["alarms"] == ["feed test-high is silent"]
        high = {f["name"]: f for f in h["feeds"]}["test-high"]
        assert high["alarm"] and "nothing new" in high["why"]
        assert 'lalert_feed_silent{feed="test-high"} 1.0' in d.get("/metrics")[2].decode()
        feeds.feeds["high.xml"] = [JMA_FILES[1]]
        d.wait(lambda: d.health()["status"] == "ok", timeout=20, what="the alarm to clear")
    finally:
        d.stop()
