"""A resume is bounded: ``Last-Event-ID: 0`` once replayed the whole change log — every
change ever, decoded on the event loop — to anyone who asked, as often as they asked.
Further back than ``[outputs.sse] max_replay`` changes, a client gets an ``event: gap``
naming where the replay starts (its cue to fetch ``/api/v1/alerts``), then the newest
changes; a resume within the bound is whole, as before."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aiohttp
import pytest

from tests.daemon_helpers import Daemon, cap, start_daemon
from tests.test_push_sse import next_event

MAX_REPLAY = 2


@pytest.fixture(scope="module")
def d(tmp_path_factory) -> Iterator[Daemon]:
    home = tmp_path_factory.mktemp("harden-sse") / "home"
    dm = start_daemon(home, outputs=["sse"],
                      config_text=f"[outputs.sse]\nmax_replay = {MAX_REPLAY}\n")
    for i in range(5):
        status, body = dm.post(cap(f"harden-sse-{i}"))
        assert status == 202, body
    dm.wait_applied()
    yield dm
    dm.stop()


async def _resume(d: Daemon, last: int, want: int) -> list[dict]:
    async with aiohttp.ClientSession() as s, s.get(
            d.url + "/api/v1/stream", headers={"Last-Event-ID": str(last)}) as r:
        assert r.status == 200
        return [await next_event(r) for _ in range(want)]


def _newest(d: Daemon) -> int:
    return d.health()["seq"]


def test_a_resume_from_the_beginning_gets_a_gap_and_the_newest(d):
    newest = _newest(d)
    assert newest >= 5
    gap, *events = asyncio.run(_resume(d, 0, 1 + MAX_REPLAY))
    assert gap["event"] == "gap"
    assert gap["data"]["after"] == 0 and gap["data"]["from"] == newest - MAX_REPLAY
    assert [int(e["id"]) for e in events] == list(range(newest - MAX_REPLAY + 1, newest + 1))


def test_a_resume_within_the_bound_is_whole(d):
    newest = _newest(d)
    events = asyncio.run(_resume(d, newest - 1, 1))
    assert events[0].get("event") != "gap" and int(events[0]["id"]) == newest


def test_after_a_restart_the_bound_holds_before_any_new_change(d):
    newest = _newest(d)
    d.restart()
    gap, *_ = asyncio.run(_resume(d, 0, 1))
    assert gap["event"] == "gap" and gap["data"]["from"] >= newest - MAX_REPLAY
