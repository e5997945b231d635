"""One POSTed alert through the real daemon app reaches the matching webhook, Web Push
subscriber, MQTT subscriber and SSE client — and not the non-matching ones."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import aiomqtt
from aiohttp.test_utils import TestClient, TestServer

from lalert.config import load_config
from lalert.server.app import create_app
from tests.push_fakes import IN_ASO, LOOPBACK, WebhookReceiver
from tests.test_push_mqtt import PASSWORD, USER, broker, pytestmark  # noqa: F401
from tests.test_push_sse import next_event
from tests.test_push_webpush import Browser, PushService

TOKEN = "daemon-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
INSIDE = (32.825, 130.745)  # inside the message's own CAP polygon (熊本市, 白川沿い)


def message() -> bytes:
    """A hand-made CAP 1.2 避難指示 (not a real message), dated now so it is in force."""
    now = datetime.now(UTC).replace(microsecond=0)
    sent, expires = now.isoformat(), (now + timedelta(days=1)).isoformat()
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- hand-made test message for lalert, not a real alert -->
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>test.lalert.push.{int(now.timestamp())}</identifier>
  <sender>test@lalert.example</sender><sent>{sent}</sent>
  <status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <info>
    <language>ja-JP</language><category>Safety</category><event>避難指示</event>
    <urgency>Immediate</urgency><severity>Severe</severity><certainty>Likely</certainty>
    <expires>{expires}</expires><headline>【警戒レベル4】白川沿いに避難指示（試験用）</headline>
    <parameter><valueName>警戒レベル</valueName><value>4</value></parameter>
    <area>
      <areaDesc>熊本市（白川沿い）</areaDesc>
      <polygon>32.8360,130.7350 32.8360,130.7600 32.8150,130.7600 32.8060,130.7300 32.8200,130.7220 32.8360,130.7350</polygon>
      <geocode><valueName>LGCode</valueName><value>431010</value></geocode>
    </area>
  </info>
</alert>""".encode()


async def test_one_alert_reaches_every_matching_channel_only(tmp_path, broker):  # noqa: F811
    browsers = {"near": Browser(), "far": Browser()}
    async with WebhookReceiver() as rx, PushService(browsers) as svc:
        config = load_config(env={}, overrides={
            "home": str(tmp_path / "home"),
            "ingest.tokens": [{"name": "desk", "token": TOKEN}],
            "poller.enabled": False,
            "spool.enabled": False,
            "outputs.enabled": ["webhook", "webpush", "mqtt", "sse"],
            "outputs.webhook": {"base_delay_s": 0.05},
            "outputs.webpush": {"allow_http_endpoints": True, "base_delay_s": 0.05},
            "push.allow_destinations": LOOPBACK,
            "outputs.mqtt": {"port": broker, "username": USER, "password": PASSWORD},
            "outputs.sse": {"heartbeat_s": 0.3},
        })  # fmt: skip
        client = TestClient(TestServer(create_app(config)))
        await client.start_server()
        try:
            for name, (lat, lon) in (("near", INSIDE), ("far", IN_ASO)):
                body = {"channel": "webhook", "url": rx.url(f"/{name}"),
                        "where": {"point": {"lat": lat, "lon": lon}, "radius_m": 200}}
                r = await client.post("/api/v1/subscriptions", json=body, headers=AUTH)
                assert r.status == 201, await r.text()
                rx.secrets[f"/{name}"] = (await r.json())["secret"]
                body = {"channel": "webpush", "where": body["where"], "subscription": {
                    "endpoint": svc.endpoint(name), "keys": browsers[name].keys()}}
                r = await client.post("/api/v1/subscriptions", json=body)
                assert r.status == 201, await r.text()
            sse_near = await client.get(f"/api/v1/stream?point={INSIDE[0]},{INSIDE[1]}")
            sse_far = await client.get(f"/api/v1/stream?point={IN_ASO[0]},{IN_ASO[1]}")
            async with aiomqtt.Client("127.0.0.1", broker, username=USER, password=PASSWORD) as m:
                await m.subscribe("lalert/alerts/#", qos=1)
                r = await client.post("/api/v1/messages", data=message(),
                                      headers={**AUTH, "Content-Type": "application/xml"})
                assert r.status in (200, 201, 202), await r.text()

                ev = await next_event(sse_near)
                alert_id = ev["data"]["id"]
                assert ev["data"]["change"]["kind"] == "new"
                assert await next_event(sse_far, heartbeats=True) == "heartbeat"

                async with asyncio.timeout(10):
                    msg = await anext(aiter(m.messages))
                assert msg.qos == 1
                assert json.loads(msg.payload)["id"] == alert_id
                assert str(msg.topic).startswith("lalert/alerts/43/")

                async with asyncio.timeout(10):
                    while not (rx.bodies.get("/near") and svc.received.get("near")):
                        await asyncio.sleep(0.02)
                await asyncio.sleep(0.3)  # would a wrong delivery to "far" still arrive?
            assert [b["id"] for b in rx.bodies["/near"]] == [alert_id]
            assert "/far" not in rx.bodies and rx.bad_signatures == 0
            assert [p["id"] for p in svc.received["near"]] == [alert_id]
            assert "far" not in svc.received
        finally:
            await client.close()
