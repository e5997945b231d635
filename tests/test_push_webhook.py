"""Signed webhooks end to end on loopback: subscribe through the API, deliver, verify."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from lalert.outputs.webhook import WebhookOutput
from lalert.storage import delivery_id
from lalert.store.push import PushStore
from tests.push_fakes import ASO, IN_ASO, IN_CHUO, WebhookReceiver, change, ctx, flood

TOKEN = "test-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def started(home, **cfg):
    out = WebhookOutput()
    cfg = {"tokens": {"desk": TOKEN}, "base_delay_s": 0.02, "max_delay_s": 0.1, **cfg}
    await out.start(ctx(home, "webhook", **cfg))
    app = web.Application()
    app.add_routes(out.routes())
    client = TestClient(TestServer(app))
    await client.start_server()
    return out, client


async def subscribe(client, rx, path, point, radius_m=1000, **extra):
    body = {"channel": "webhook", "url": rx.url(path),
            "where": {"point": {"lat": point[0], "lon": point[1]}, "radius_m": radius_m}, **extra}
    r = await client.post("/api/v1/subscriptions", json=body, headers=AUTH)
    assert r.status == 201, await r.text()
    got = await r.json()
    rx.secrets[path] = got["secret"]
    return got


async def test_matching_subscriber_gets_one_signed_delivery_and_other_gets_none(tmp_path):
    async with WebhookReceiver() as rx:
        out, client = await started(tmp_path)
        try:
            near = await subscribe(client, rx, "/near", IN_CHUO)
            await subscribe(client, rx, "/far", IN_ASO)
            await out.handle(change(1, flood()))
            await out.handle(change(1, flood()))  # a repeated seq is a no-op
            assert await out.dispatcher.drain(10)
            assert rx.bad_signatures == 0
            assert list(rx.bodies) == ["/near"]
            [body] = rx.bodies["/near"]
            assert body["id"] == "jma-flood-1" and body["schema"] == "lalert.enriched/1"
            assert body["change"] == {"seq": 1, "kind": "new", "reason": "issue", "drill": False,
                                      "at": "2026-07-01T01:00:00+00:00"}
            assert sum(rx.ids.values()) == 1
            box = PushStore.for_home(tmp_path)
            [d] = box.deliveries(channel="webhook")
            assert (d["sub_id"], d["state"], d["attempts"]) == (near["id"], "sent", 1)
        finally:
            await out.stop()
            await client.close()


async def test_retries_keep_the_id_and_dead_letter_after_the_last(tmp_path):
    async with WebhookReceiver() as rx:
        out, client = await started(tmp_path, max_attempts=3)
        try:
            await subscribe(client, rx, "/flaky", IN_CHUO)
            sub_id = out.subs.list("webhook")[0].id
            jobs_id = delivery_id("webhook", 1, sub_id)
            rx.fail_first[jobs_id] = 2
            await out.handle(change(1, flood()))
            assert await out.dispatcher.drain(10)
            assert rx.ids == {jobs_id: 1}
            attempts = PushStore.for_home(tmp_path).attempts(jobs_id)
            assert [a["status"] for a in attempts] == [500, 500, 204]

            rx.always_fail = True
            await out.handle(change(2, flood(serial=2, id="jma-flood-2"), "updated", "update"))
            assert await out.dispatcher.drain(10)
            states = PushStore.for_home(tmp_path).states("webhook")
            assert states == {"sent": 1, "dead": 1}

            r = await client.get("/api/v1/deliveries?state=dead", headers=AUTH)
            [dead] = (await r.json())["deliveries"]
            assert dead["attempts"] == 3 and dead["last_status"] == 503
        finally:
            await out.stop()
            await client.close()


async def test_cancel_reaches_previous_recipients_even_when_footprint_moves(tmp_path):
    async with WebhookReceiver() as rx:
        out, client = await started(tmp_path)
        try:
            await subscribe(client, rx, "/chuo", IN_CHUO)
            await out.handle(change(1, flood()))
            moved = flood(serial=2, id="jma-flood-2", footprint=ASO, info_type="cancel")
            await out.handle(change(2, moved, "withdrawn", "cancel"))
            assert await out.dispatcher.drain(10)
            kinds = [b["change"]["kind"] for b in rx.bodies["/chuo"]]
            assert kinds == ["new", "withdrawn"]
        finally:
            await out.stop()
            await client.close()


async def test_unfinished_deliveries_resume_after_restart(tmp_path):
    async with WebhookReceiver() as rx:
        rx.always_fail = True
        out, client = await started(tmp_path, base_delay_s=0.5, max_delay_s=0.5)
        await subscribe(client, rx, "/later", IN_CHUO)
        await out.handle(change(1, flood()))
        await asyncio.sleep(0.1)  # the first attempt fails; the retry is ≥ 0.25 s away
        await out.stop()
        await client.close()
        assert PushStore.for_home(tmp_path).states("webhook") in ({"retrying": 1}, {"pending": 1})
        rx.always_fail = False
        again = WebhookOutput()
        await again.start(ctx(tmp_path, "webhook", base_delay_s=0.01, max_delay_s=0.01))
        try:
            assert await again.dispatcher.drain(10)
            assert sum(rx.ids.values()) == 1
        finally:
            await again.stop()


async def test_api_needs_a_token_for_webhooks_and_validates(tmp_path):
    out, client = await started(tmp_path)
    try:
        body = {"channel": "webhook", "url": "http://127.0.0.1:9/x",
                "where": {"areas": [{"scheme": "jma.city", "code": "4310100"}]}}
        assert (await client.post("/api/v1/subscriptions", json=body)).status == 401
        bad = {**body, "where": {"point": {"lat": 999, "lon": 0}}}
        assert (await client.post("/api/v1/subscriptions", json=bad, headers=AUTH)).status == 400
        r = await client.post("/api/v1/subscriptions", json=body, headers=AUTH)
        created = await r.json()
        assert created["secret"].startswith("whsec_")
        listed = await (await client.get("/api/v1/subscriptions", headers=AUTH)).json()
        assert [s["id"] for s in listed["subscriptions"]] == [created["id"]]
        assert "secret" not in listed["subscriptions"][0]
        assert (await client.get("/api/v1/subscriptions")).status == 401
        path = f"/api/v1/subscriptions/{created['id']}"
        assert (await client.delete(path, headers={"X-Unsubscribe-Key": "nope"})).status == 401
        r = await client.delete(path, headers={"X-Unsubscribe-Key": created["unsubscribe_key"]})
        assert r.status == 204
        assert (await client.get(path, headers=AUTH)).status == 404
    finally:
        await out.stop()
        await client.close()
