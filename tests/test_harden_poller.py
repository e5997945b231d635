"""The feed poller follows an entry link only to the feed's own host (or
``[poller] allow_hosts``); a redirect is a link too. An entry whose link answered 302 to
another host was followed there — past the allow-list, to whatever that host served (an
internal address, on a feed fetched over plain http) — and journaled. Redirects within
the allowed host still work."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web

from tests.daemon_helpers import start_daemon
from tests.test_daemon_sources import JMA_FILES, FeedServer, feed_items, poller_config


class RedirectingFeeds(FeedServer):
    """``/data/away.xml`` redirects to ``away``; ``/data/here.xml`` to a file of its own."""

    away = ""

    async def _data(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name == "away.xml":
            raise web.HTTPFound(self.away)
        if name == "here.xml":
            raise web.HTTPFound(f"/data/{JMA_FILES[1].name}")
        return await super()._data(request)


@pytest.mark.skipif(len(JMA_FILES) < 2, reason="JMA corpus not present")
def test_entry_redirects_to_another_host_are_refused(tmp_path):
    other = FeedServer().start()  # another host:port, not allowed
    other.feeds["long.xml"] = [JMA_FILES[0]]
    feeds = RedirectingFeeds().start()
    feeds.away = f"http://127.0.0.1:{other.port}/data/{JMA_FILES[0].name}"
    feeds.feeds["long.xml"] = [Path("away.xml"), Path("here.xml")]
    feeds.feeds["high.xml"] = [JMA_FILES[1]]  # the file here.xml redirects to
    d = start_daemon(tmp_path / "home", config_text=poller_config(feeds, 3600),
                     env={"LALERT_POLLER__ENABLED": "true"})
    try:
        d.wait(lambda: any("redirect" in (f["last_error"] or "") for f in d.health()["feeds"]),
               timeout=30, what="the refused redirect named in /healthz")
        d.wait(lambda: len(feed_items(d)) >= 2, timeout=30, what="the allowed entries")
        assert other.fetched == []  # never asked
        errors = " ".join(f["last_error"] or "" for f in d.health()["feeds"])
        assert f"to another host refused: {feeds.away}" in errors
        assert len(feed_items(d)) == 2  # here.xml (followed at home) and the high feed's
    finally:
        d.stop()
        feeds.stop()
        other.stop()
