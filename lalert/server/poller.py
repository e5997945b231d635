"""JMA Atom feed poller (気象庁防災情報XML PULL型).

Each feed is fetched with ``If-None-Match`` / ``If-Modified-Since``; every entry not
seen before (by Atom entry id, remembered in the journal) has its XML fetched and
journaled with the feed URL as sender. On start the long (長期) feeds are read once
first, so what was published while the daemon was down is back-filled; entries that
are in both kinds of feed are fetched once. Entry links are followed only to the feed's
own host (or ``poller.allow_hosts``) — redirects too, each hop judged like the link (an
entry that redirected elsewhere was followed there, past the allow-list) — and bodies are
size-bounded like any message.

A feed is *silent* when it has not been fetched successfully for three intervals, or
has shown nothing new for ``silence_after`` seconds; a silent feed is an alarm on
``/healthz``, the desk and ``lalert_feed_silent``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

from lalert.config import FeedConfig
from lalert.parsers.xmlsafe import ParseError, children, local, parse_xml, path_text
from lalert.pipeline import Pipeline

MAX_REDIRECTS = 5

log = logging.getLogger(__name__)

ATOM = "{http://www.w3.org/2005/Atom}"
USER_AGENT = "lalert-poller/1 (+https://github.com/lalert)"


@dataclass
class FeedEntry:
    id: str
    url: str
    updated: str = ""
    title: str = ""


@dataclass
class FeedState:
    feed: FeedConfig
    etag: str | None = None
    last_modified: str | None = None
    feed_updated: str | None = None
    last_success: float | None = None
    last_change: float = field(default_factory=time.time)
    last_error: str | None = None
    fetched: int = 0
    new_entries: int = 0
    failures: int = 0


def parse_feed(data: bytes, *, base: str, max_bytes: int) -> tuple[str | None, list[FeedEntry]]:
    """(feed updated, entries oldest first) from an Atom document."""
    root = parse_xml(data, source=base, max_bytes=max_bytes)
    if local(root.tag) != "feed":
        raise ParseError(f"not an Atom feed: <{local(root.tag)}>", source=base)
    entries = []
    for el in children(root, "entry"):
        eid = path_text(el, "id")
        href = None
        for link in children(el, "link"):
            if link.get("rel", "alternate") == "alternate" and link.get("href"):
                href = link.get("href")
                break
        if not eid or not href:
            continue
        entries.append(FeedEntry(eid, urljoin(base, href), path_text(el, "updated") or "",
                                 path_text(el, "title") or ""))
    entries.sort(key=lambda e: e.updated)
    return path_text(root, "updated"), entries


class Poller:
    def __init__(self, pipeline: Pipeline, feeds: list[FeedConfig], *,
                 allow_hosts: list[str] | None = None, metrics: Any = None) -> None:
        self.pipeline = pipeline
        self.states = [FeedState(f) for f in feeds]
        self.allow_hosts = set(allow_hosts or [])
        self.metrics = metrics
        self._session: aiohttp.ClientSession | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=30), headers={"User-Agent": USER_AGENT})
        self._tasks.append(asyncio.create_task(self._run(), name="poller"))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            try:
                await t
            except asyncio.CancelledError:
                pass
        if self._session:
            await self._session.close()

    async def _run(self) -> None:
        # back-fill: long feeds once, first, then every feed on its own interval
        for st in self.states:
            if st.feed.long:
                await self.poll_once(st)
        self._tasks.extend(asyncio.create_task(self._loop(st), name=f"feed-{st.feed.name}")
                           for st in self.states)

    async def _loop(self, st: FeedState) -> None:
        if st.feed.long and st.last_success is not None:
            await asyncio.sleep(st.feed.interval)
        while True:
            await self.poll_once(st)
            await asyncio.sleep(st.feed.interval)

    async def poll_once(self, st: FeedState) -> int:
        """Fetch one feed; journal its new entries; returns how many were new."""
        assert self._session is not None
        headers = {}
        if st.etag:
            headers["If-None-Match"] = st.etag
        if st.last_modified:
            headers["If-Modified-Since"] = st.last_modified
        limit = self.pipeline.config.max_message_bytes
        try:
            async with self._session.get(st.feed.url, headers=headers) as resp:
                if resp.status == 304:
                    st.last_error = None
                    self._success(st)
                    return 0
                if resp.status != 200:
                    raise RuntimeError(f"HTTP {resp.status}")
                data = await _read_bounded(resp, limit)
                etag, modified = resp.headers.get("ETag"), resp.headers.get("Last-Modified")
            updated, entries = parse_feed(data, base=st.feed.url, max_bytes=limit)
        except (TimeoutError, aiohttp.ClientError, RuntimeError, ParseError, ValueError) as exc:
            st.failures += 1
            st.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("feed %s: %s", st.feed.name, st.last_error)
            return 0
        new = 0
        complete = True
        for e in entries:
            if self.pipeline.seen_origin("feed", e.id):
                continue
            if not self._allowed(st.feed.url, e.url):
                st.last_error = f"entry link to another host refused: {e.url}"
                continue
            try:
                body = await self._fetch_entry(st.feed.url, e.url, limit)
            except (TimeoutError, aiohttp.ClientError, RuntimeError) as exc:
                st.last_error = f"entry {e.id}: {exc}"
                complete = False
                continue  # not marked seen: fetched again next time
            if len(body) > limit:
                await self.pipeline.reject_oversize(len(body), source="feed",
                                                    sender=st.feed.url, origin_id=e.id)
            else:
                await self.pipeline.submit(body, source="feed", sender=st.feed.url,
                                           origin_id=e.id)
            new += 1
        if complete:
            # remember validators only when every entry was journaled, so a failed entry
            # fetch is retried with the full feed next time
            st.etag, st.last_modified = etag, modified
            st.last_error = None
        if new or (updated and updated != st.feed_updated):
            st.last_change = time.time()
        st.feed_updated = updated
        st.new_entries += new
        self._success(st)
        return new

    async def _fetch_entry(self, feed_url: str, url: str, limit: int) -> bytes:
        """An entry's body, following at most ``MAX_REDIRECTS`` redirects and only to
        hosts the entry link itself could name (``_allowed``)."""
        assert self._session is not None
        for _ in range(MAX_REDIRECTS + 1):
            async with self._session.get(url, allow_redirects=False) as r:
                if r.status in (301, 302, 303, 307, 308) and "Location" in r.headers:
                    target = urljoin(url, r.headers["Location"])
                    if not self._allowed(feed_url, target):
                        raise RuntimeError(f"redirect from {url} to another host refused: "
                                           f"{target[:200]}")
                    url = target
                    continue
                if r.status != 200:
                    raise RuntimeError(f"HTTP {r.status} for {url}")
                return await _read_bounded(r, limit)
        raise RuntimeError(f"more than {MAX_REDIRECTS} redirects for {url}")

    def _allowed(self, feed_url: str, url: str) -> bool:
        f, u = urlsplit(feed_url), urlsplit(url)
        if u.scheme not in ("http", "https"):
            return False
        return (u.hostname == f.hostname and u.port == f.port) or (u.hostname in self.allow_hosts)

    def _success(self, st: FeedState) -> None:
        st.last_success = time.time()
        st.fetched += 1
        if self.metrics is not None:
            self.metrics.feed_success.labels(st.feed.name).set(st.last_success)

    def status(self, now: float | None = None) -> list[dict[str, Any]]:
        now = time.time() if now is None else now
        out = []
        for st in self.states:
            stale_fetch = (st.last_success is None and now - st.last_change > 3 * st.feed.interval) \
                or (st.last_success is not None and now - st.last_success > 3 * st.feed.interval)
            quiet = now - st.last_change > st.feed.silence_after
            alarm = bool(stale_fetch or quiet)
            if self.metrics is not None:
                self.metrics.feed_silent.labels(st.feed.name).set(int(alarm))
            out.append({
                "name": st.feed.name, "url": st.feed.url, "long": st.feed.long,
                "alarm": alarm,
                "why": ("no successful fetch for 3 intervals" if stale_fetch
                        else f"nothing new for {st.feed.silence_after:.0f}s" if quiet else None),
                "last_success": _iso(st.last_success), "last_change": _iso(st.last_change),
                "last_error": st.last_error, "fetched": st.fetched,
                "new_entries": st.new_entries, "failures": st.failures,
            })
        return out


async def _read_bounded(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    parts, size = [], 0
    async for chunk in resp.content.iter_chunked(64 * 1024):
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(parts)


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")
