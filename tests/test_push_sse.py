"""Server-sent events over loopback: filters, ids, heartbeats, Last-Event-ID resume."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from lalert.outputs.sse import SseOutput
from tests.push_fakes import ASO, IN_ASO, IN_CHUO, change, ctx, flood


async def next_event(resp, *, heartbeats: bool = False) -> dict | str:
    """The next event (id + parsed data), or the string 'heartbeat'."""
    async with asyncio.timeout(10):  # heartbeats alone must not keep a test waiting forever
        return await _next_event(resp, heartbeats)


async def _next_event(resp, heartbeats: bool) -> dict | str:
    ev: dict = {}
    while True:
        line = (await resp.content.readline()).decode().rstrip("\n")
        if line.startswith(": "):
            if heartbeats:
                return "heartbeat"
            continue
        if line.startswith("retry:"):
            continue
        if not line:
            if ev:
                return ev
            continue
        k, _, v = line.partition(": ")
        ev[k] = json.loads(v) if k == "data" else v


async def setup(home):
    out = SseOutput()
    await out.start(ctx(home, "sse", heartbeat_s=0.3))
    app = web.Application()
    app.add_routes(out.routes())
    client = TestClient(TestServer(app))
    await client.start_server()
    return out, client


async def wait_clients(out, n):
    for _ in range(200):
        if out.clients == n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{out.clients} clients, wanted {n}")


async def test_filters_ids_heartbeats_and_resume(tmp_path):
    out, client = await setup(tmp_path)
    try:
        near = await client.get(f"/api/v1/stream?point={IN_CHUO[0]},{IN_CHUO[1]}")
        far = await client.get(f"/api/v1/stream?point={IN_ASO[0]},{IN_ASO[1]}")
        everything = await client.get("/api/v1/stream")
        by_area = await client.get("/api/v1/stream?area=jma.city:4310100&kind=evacuation")
        other_kind = await client.get("/api/v1/stream?kind=tsunami")
        assert near.headers["Content-Type"].startswith("text/event-stream")
        await wait_clients(out, 5)

        await out.handle(change(1, flood()))
        for r in (near, everything, by_area):
            ev = await next_event(r)
            assert ev["id"] == "1" and ev["event"] == "alert"
            assert ev["data"]["id"] == "jma-flood-1" and ev["data"]["change"]["seq"] == 1
        assert await next_event(far, heartbeats=True) == "heartbeat"
        assert await next_event(other_kind, heartbeats=True) == "heartbeat"

        near.close()
        await wait_clients(out, 4)
        await out.handle(change(2, flood(id="jma-flood-2", serial=2), "updated", "update"))
        await out.handle(change(3, flood(id="aso-1", event_id="ev-aso", footprint=ASO)))
        await out.handle(change(4, flood(id="jma-flood-3", serial=3), "updated", "update"))

        resumed = await client.get(
            f"/api/v1/stream?point={IN_CHUO[0]},{IN_CHUO[1]}", headers={"Last-Event-ID": "1"}
        )
        got = [(await next_event(resumed))["id"] for _ in range(2)]
        assert got == ["2", "4"]  # seq 3 is in Aso: filtered out of the replay too
        await out.handle(change(5, flood(id="jma-flood-4", serial=4), "updated", "update"))
        assert (await next_event(resumed))["id"] == "5"
        assert [(await next_event(everything))["id"] for _ in range(4)] == ["2", "3", "4", "5"]

        bad = await client.get("/api/v1/stream?point=nope")
        assert bad.status == 400
    finally:
        await out.stop()
        await client.close()


async def test_drills_are_not_streamed_by_default(tmp_path):
    out, client = await setup(tmp_path)
    try:
        r = await client.get("/api/v1/stream")
        await wait_clients(out, 1)
        await out.handle(change(1, flood(status="exercise")))
        await out.handle(change(2, flood(id="real-2")))
        ev = await next_event(r)
        assert ev["id"] == "2"
    finally:
        await out.stop()
        await client.close()
