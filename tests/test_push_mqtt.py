"""MQTT against a real Mosquitto on a loopback port, with a password file."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time

import aiomqtt
import pytest

from lalert.outputs.mqtt import MqttOutput, pref_of
from tests.push_fakes import change, ctx, flood, free_port

MOSQUITTO = "/usr/sbin/mosquitto"
pytestmark = pytest.mark.skipif(
    not shutil.which(MOSQUITTO) or not shutil.which("mosquitto_passwd"),
    reason="Debian package mosquitto not installed",
)
USER, PASSWORD = "lalert", "s3cret-pw"


@pytest.fixture
def broker(tmp_path):
    port = free_port()
    pw = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(pw), USER, PASSWORD], check=True)
    pw.chmod(0o600)
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"user root\nlistener {port} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {pw}\npersistence false\nlog_dest stderr\n"
    )
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    import socket

    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode()) from None
            time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(5)


async def retained(port: int, topic_filter: str, wait: float = 0.5) -> dict[str, bytes]:
    """Connect afresh and collect what the broker holds retained under the filter."""
    got: dict[str, bytes] = {}
    async with aiomqtt.Client("127.0.0.1", port, username=USER, password=PASSWORD) as c:
        await c.subscribe(topic_filter, qos=1)
        try:
            async with asyncio.timeout(wait):
                async for m in c.messages:
                    assert m.retain and m.qos == 1
                    got[str(m.topic)] = bytes(m.payload)
        except TimeoutError:
            pass
    return got


def test_pref_of():
    assert pref_of("lg_code", "431001") == "43"
    assert pref_of("jma.city", "4310100") == "43"
    assert pref_of("jma.tsunami_region", "740") == "00"


async def test_retained_while_active_cleared_when_withdrawn(tmp_path, broker):
    out = MqttOutput()
    await out.start(ctx(tmp_path, "mqtt", port=broker, username=USER, password=PASSWORD))
    topic = "lalert/alerts/43/4310100/evacuation"
    try:
        async with aiomqtt.Client("127.0.0.1", broker, username=USER, password=PASSWORD) as live:
            await live.subscribe("lalert/alerts/43/#", qos=1)
            await out.handle(change(1, flood()))
            await out.handle(change(1, flood()))  # repeated seq: nothing new
            assert await out.drain(10)
            kept = await retained(broker, "lalert/alerts/#")
            assert list(kept) == [topic]
            msg = json.loads(kept[topic])
            assert msg["id"] == "jma-flood-1" and msg["level"] == 4
            assert msg["area"] == {"code": "4310100", "scheme": "jma.city", "name": "熊本市中央区"}
            assert await retained(broker, "lalert/alerts/13/#") == {}  # another prefecture

            cancel = flood(id="jma-flood-2", serial=2, info_type="cancel")
            await out.handle(change(2, cancel, "withdrawn", "cancel"))
            assert await out.drain(10)
            assert await retained(broker, "lalert/alerts/#") == {}
            seen = []
            async with asyncio.timeout(5):
                async for m in live.messages:
                    seen.append((str(m.topic), bytes(m.payload)))
                    if len(seen) == 2:
                        break
            assert seen[0][0] == topic and json.loads(seen[0][1])["change"]["kind"] == "new"
            assert seen[1] == (topic, b"")
    finally:
        await out.stop()


async def test_wrong_password_keeps_rows_open_and_resumes(tmp_path, broker):
    out = MqttOutput()
    await out.start(ctx(tmp_path, "mqtt", port=broker, username=USER, password="wrong",
                        max_delay_s=0.2))
    await out.handle(change(1, flood()))
    assert not await out.drain(1)
    await out.stop()
    again = MqttOutput()
    await again.start(ctx(tmp_path, "mqtt", port=broker, username=USER, password=PASSWORD))
    try:
        assert await again.drain(10)
        assert list(await retained(broker, "lalert/alerts/#")) == [
            "lalert/alerts/43/4310100/evacuation"
        ]
    finally:
        await again.stop()
