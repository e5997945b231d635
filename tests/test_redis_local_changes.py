"""The publishing process hands its own readers the changes it wrote (no decoding), and
keeps a change only until every local reader is past it: a burst on PostGIS + Redis held
4,096 already-read changes with their rendered push JSON (about 60 MB). Real Redis."""

from __future__ import annotations

import asyncio
import secrets

from tests.backends import redis_server  # noqa: F401 (fixture)
from tests.test_codec_backends import _change


class _Gate:
    """A local output that records the change objects it gets and can be held back."""

    def __init__(self, name: str, *, broadcast: bool = False) -> None:
        self.name = name
        self.broadcast = broadcast
        self.open = asyncio.Event()
        self.open.set()
        self.got: list = []

    async def handle(self, change) -> None:
        await self.open.wait()
        self.got.append(change)


async def _nothing(after: int) -> list:
    return []


async def _until(cond, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.02)


async def test_local_readers_get_the_published_objects_and_nothing_read_is_kept(
        redis_server):  # noqa: F811
    from lalert.bus.redis import RedisBus

    bus = RedisBus.from_url(redis_server.url(stream=f"local-{secrets.token_hex(4)}",
                                             block_ms=50))
    grouped, live = _Gate("grouped"), _Gate("live", broadcast=True)
    bus.add(grouped, drills=False, cursor=0)
    bus.add(live, drills=False, cursor=0)
    await bus.start(_nothing)
    try:
        grouped.open.clear()  # one reader falls behind: what it has not read is kept
        published = [_change(seq) for seq in range(1, 41)]
        for ch in published:
            bus.publish(ch, "")
        await _until(lambda: len(live.got) == 40 and bus.published == 40)
        assert bus.kept_locally > 0
        grouped.open.set()
        await _until(lambda: len(grouped.got) == 40)
        # the very objects published: taken from the kept ones, not decoded again
        assert all(a is b for a, b in zip(grouped.got, published, strict=True))
        assert all(a is b for a, b in zip(live.got, published, strict=True))
        await _until(lambda: bus.kept_locally == 0)  # every reader is past every change
        bus.publish(_change(41), "")
        await _until(lambda: len(grouped.got) == 41 and len(live.got) == 41)
        await _until(lambda: bus.kept_locally == 0)
    finally:
        await bus.stop()
