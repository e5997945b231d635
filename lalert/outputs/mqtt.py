"""MQTT: each alert at QoS 1 on ``lalert/alerts/{pref}/{area_code}/{kind}``, retained
while active, cleared (empty retained payload) when it ends or leaves an area.

Each topic's message carries the 警戒レベル in force in its own area (``level``,
``level_label``): a prefecture's telegram retains level 2 on 三宅町 and 5 on 十津川村.

Topic filters are the subscriptions here (``lalert/alerts/43/#`` = everything in 熊本県),
so there is no per-subscriber fan-out: each change becomes one outbox row per topic in
``push.sqlite`` (channel ``mqtt``), published strictly in seq order by one sender so a
clear can never overtake the set it clears. A row is ``sent`` once the broker's PUBACK
arrived; after a crash or a broker outage the sender resumes from the first open row.

Config (``[outputs.mqtt]``): ``host`` (127.0.0.1), ``port`` (1883), ``username``,
``password`` or ``password_env``, ``tls`` (false), ``client_id``, ``prefix``
(``lalert/alerts``), ``drills`` (false), ``max_delay_s`` (30), ``link``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import ssl
import time
from typing import Any

import aiomqtt

from lalert.changes import AlertChange
from lalert.model import highest
from lalert.outputs.base import BaseOutput, OutputContext
from lalert.outputs.delivery import alert_key, logged
from lalert.storage import Job, Outcome
from lalert.vocab.levels import describe

log = logging.getLogger(__name__)
CHANNEL = "mqtt"
# Schemes whose codes start with the two-digit prefecture code (JIS X 0401).
PREF_SCHEMES = {"lg_code", "n03", "jma.city", "jma.forecast_area", "commons.chome", "jma.eq_pref"}
_UNSAFE = re.compile(r"[+#/\s\x00]")


def pref_of(scheme: str, code: str) -> str:
    """Two-digit prefecture code, or ``00`` for codes that do not encode one
    (earthquake regions, tsunami forecast regions, CAP geocodes)."""
    if scheme in PREF_SCHEMES and len(code) >= 2 and code[:2].isdigit():
        return code[:2]
    return "00"


def topics_for(change: AlertChange, prefix: str) -> dict[str, dict[str, Any]]:
    """topic → the area it stands for, for every coded area under alert (a 解除 / なし
    area's retained message is cleared)."""
    ea = change.alert
    kind = _UNSAFE.sub("_", ea.alert.kind or "other")
    out: dict[str, dict[str, Any]] = {}
    for a in ea.active_areas():
        if not a.code:
            continue
        code = _UNSAFE.sub("_", a.code)
        topic = f"{prefix}/{pref_of(a.scheme, a.code)}/{code}/{kind}"
        out.setdefault(topic, {"code": a.code, "scheme": a.scheme, "name": a.name})
    return out


def message(body: dict[str, Any], area: dict[str, Any]) -> bytes:
    """The retained payload: a compact summary (subscribers fetch details by id/link).

    ``level`` and ``level_label`` are those in force in the topic's own area (the body's
    ``area_levels``, ``lalert.outputs.delivery.area_levels``): 三宅町's topic says its
    注意報 (2) while 十津川村's says 5. A body written before ``area_levels`` existed says
    the alert's highest anywhere, as it always did."""
    keep = ("id", "event_id", "format", "kind", "title", "headline", "level", "severity",
            "status", "info_type", "issued_at", "valid_until", "publisher", "hazard_tags",
            "level_label", "instruction")  # fmt: skip
    msg = {k: body.get(k) for k in keep}
    own = [x.get("level") for x in body.get("area_levels") or ()
           if x.get("scheme") == area.get("scheme") and x.get("code") == area.get("code")]
    if own:
        msg["level"] = highest(own)
        msg["level_label"] = describe(msg["level"], body.get("kind"),
                                      body.get("hazard_tags") or ())
    msg["area"] = area
    msg["change"] = body.get("change")
    return json.dumps(msg, ensure_ascii=False).encode()


class MqttOutput(BaseOutput):
    name = CHANNEL

    def __init__(self) -> None:
        super().__init__()
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._open = 0
        self.connected = asyncio.Event()

    async def start(self, ctx: OutputContext) -> None:
        await super().start(ctx)
        cfg = ctx.config
        self.box = ctx.storage().push()
        self.prefix = str(cfg.get("prefix", "lalert/alerts")).rstrip("/")
        self.drills = bool(cfg.get("drills", False))
        self.max_delay = float(cfg.get("max_delay_s", 30))
        self._enqueue(await asyncio.to_thread(self.box.unfinished, CHANNEL))
        self._task = asyncio.create_task(self._run())

    def _client(self) -> aiomqtt.Client:
        assert self.ctx is not None
        cfg = self.ctx.config
        password = cfg.get("password")
        if password is None and cfg.get("password_env"):
            password = os.environ.get(str(cfg["password_env"]))
        return aiomqtt.Client(
            hostname=str(cfg.get("host", "127.0.0.1")),
            port=int(cfg.get("port", 1883)),
            username=cfg.get("username"),
            password=password,
            identifier=cfg.get("client_id"),
            tls_context=ssl.create_default_context() if cfg.get("tls") else None,
            timeout=float(cfg.get("timeout_s", 10)),
        )

    async def handle(self, change: AlertChange) -> None:
        if change.drill and not self.drills:
            return
        # in a thread: the fan-out is a durable commit (an fsync, milliseconds) that would
        # otherwise stall every request for each change of a burst
        self._enqueue(await asyncio.to_thread(self._fan_out, change))

    def _fan_out(self, change: AlertChange) -> list[Job]:
        """The retained topics to set and clear for ``change``, written to the outbox."""
        if self.box.fanned_out(CHANNEL, change.seq):
            return []
        key = alert_key(change)
        now = {} if change.kind == "withdrawn" else topics_for(change, self.prefix)
        before = {
            s.split(":", 1)[1]
            for s in self.box.previous_recipients(CHANNEL, key)
            if s.startswith("set:")
        }
        rows = [f"set:{t}" for t in now] + [f"clear:{t}" for t in sorted(before - set(now))]
        if change.kind == "withdrawn":
            rows += [f"clear:{t}" for t in topics_for(change, self.prefix) if t not in before]
        return self.box.fan_out(CHANNEL, logged(change), rows)

    def _enqueue(self, jobs: list[Job]) -> None:
        for j in jobs:
            self._open += 1
            self._idle.clear()
            self._queue.put_nowait(j)

    async def _run(self) -> None:
        """One sender, in order; on any broker error reconnect with backoff, same row first."""
        head: Job | None = None
        delay = 0.5
        while True:
            try:
                async with self._client() as client:
                    self.connected.set()
                    delay = 0.5
                    while True:
                        if head is None:
                            head = await self._queue.get()
                        await self._publish(client, head)
                        head = None
            except asyncio.CancelledError:
                raise
            except aiomqtt.MqttError as exc:
                self.connected.clear()
                log.warning("mqtt: %s; retrying in %.1fs", exc, delay)
                if head is not None:
                    rec = (head, "retrying", Outcome(False, error=str(exc)[:300]), time.time(), 0.0)
                    await asyncio.to_thread(self.box.record, [rec])
                await asyncio.sleep(delay)
                delay = min(self.max_delay, delay * 2)

    async def _publish(self, client: aiomqtt.Client, job: Job) -> None:
        op, topic = job.sub_id.split(":", 1)
        t0 = time.perf_counter()
        if op == "set":
            raw = self.box.change_json(job.seq)
            body = json.loads(raw) if raw else {}
            area = self._area(job, body, topic)
            await client.publish(topic, message(body, area), qos=1, retain=True)
        else:
            await client.publish(topic, b"", qos=1, retain=True)
        job.attempts += 1
        ms = (time.perf_counter() - t0) * 1000
        await asyncio.to_thread(self.box.record, [(job, "sent", Outcome(True), time.time(), ms)])
        self._open -= 1
        if self._open <= 0:
            self._open = 0
            self._idle.set()

    def _area(self, job: Job, body: dict[str, Any], topic: str) -> dict[str, Any]:
        parts = topic.rsplit("/", 2)
        code = parts[-2] if len(parts) == 3 else ""
        for a in body.get("areas") or ():
            if a.get("code") == code:
                return {"code": a.get("code"), "scheme": a.get("scheme"), "name": a.get("name")}
        return {"code": code}

    async def drain(self, timeout: float | None = None) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
