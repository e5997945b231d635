"""Signed webhooks (Standard Webhooks): one POST per (alert version, subscription).

Headers ``webhook-id`` (the stable delivery id: dedupe on it), ``webhook-timestamp`` and
``webhook-signature`` (HMAC-SHA256 by the ``standardwebhooks`` package, with the
subscription's own secret). The body is the enriched alert JSON (``level``: the highest
anywhere) plus ``level_label`` (its words), ``area_levels`` (``[{scheme, code, name,
level}]``: the level in force at each active place, so a receiver tells 三宅町 its 注意報
while 十津川村 is at 5) and a ``change`` object (seq, kind new|updated|withdrawn, reason,
drill): one signed body per change, the same for every subscriber
(``lalert.outputs.delivery.change_json``). Delivery, retries and dead-lettering are
the shared push outbox's (``lalert.outputs.delivery``).

Config (``[outputs.webhook]``): ``workers`` (64), ``per_endpoint`` (4), ``max_attempts``
(8), ``base_delay_s`` (2), ``max_delay_s`` (600), ``timeout_s`` (10), ``tokens``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aiohttp
from standardwebhooks import Webhook

from lalert.changes import AlertChange
from lalert.outputs import subscriptions_routes as sroutes
from lalert.outputs.base import BaseOutput, OutputContext
from lalert.outputs.delivery import (
    Dispatcher,
    fan_out_subscribed,
    job_inputs,
    push_alarms,
    session_and_dispatcher,
)
from lalert.outputs.netguard import allowed_networks
from lalert.storage import Job, Outcome

if TYPE_CHECKING:  # pragma: no cover
    from aiohttp import web

CHANNEL = "webhook"


class WebhookOutput(BaseOutput):
    name = CHANNEL
    wants_drills = True  # each subscription says whether it wants drills (match() filters)

    def __init__(self) -> None:
        super().__init__()
        self.api = sroutes.SubscriptionApi(self)
        self.dispatcher: Dispatcher | None = None
        self._session: aiohttp.ClientSession | None = None
        self._signers: dict[str, tuple[str, Webhook]] = {}
        self._bodies: dict[int, tuple[str, bytes]] = {}
        sroutes.MOUNTERS.add(self)

    async def start(self, ctx: OutputContext) -> None:
        await super().start(ctx)
        cfg = ctx.config
        self.subs = ctx.storage().subscriptions()
        self.box = ctx.storage().push()
        self._session, self.dispatcher = session_and_dispatcher(
            cfg, self.box, CHANNEL, self._send, self._endpoint,
            allow=allowed_networks(ctx.settings),
            workers=64, per_endpoint=4, max_attempts=8, base_delay=2.0,
            headers={"User-Agent": "lalert-webhook/1", "Content-Type": "application/json"},
        )
        sroutes.register(ctx.home, CHANNEL, self)
        await self.dispatcher.start()
        prepare = getattr(self.subs, "prepare", None)
        if prepare is not None:  # warm: the first alert waits less
            await asyncio.to_thread(prepare, CHANNEL)

    async def handle(self, change: AlertChange) -> None:
        await fan_out_subscribed(self, CHANNEL, change)

    def alarms(self) -> list[str]:
        """Read by ``/healthz`` and ``/metrics``."""
        subs = getattr(self, "subs", None)
        return push_alarms(subs, CHANNEL, self.dispatcher) if subs is not None else []

    def routes(self) -> list[web.AbstractRouteDef]:
        return self.api.routes()

    async def stop(self) -> None:
        sroutes.MOUNTERS.discard(self)
        if self.ctx is not None:
            sroutes.unregister(self.ctx.home, CHANNEL, self)
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        if self._session is not None:
            await self._session.close()

    # --- sending -----------------------------------------------------------------

    def _endpoint(self, job: Job) -> str:
        sub = self.subs.get(job.sub_id)
        return sub.target.get("url", "") if sub else ""

    def _signer(self, sub_id: str, secret: str) -> Webhook:
        cached = self._signers.get(sub_id)
        if cached is None or cached[0] != secret:
            cached = self._signers[sub_id] = (secret, Webhook(secret))
        return cached[1]

    def _body(self, seq: int) -> tuple[str, bytes] | None:
        """The change's JSON, as text (signed) and bytes (sent), built once per seq."""
        body = self._bodies.get(seq)
        if body is None:
            text = self.box.change_json(seq)
            if text is None:
                return None
            if len(self._bodies) > 256:
                self._bodies.pop(next(iter(self._bodies)))
            body = self._bodies[seq] = (text, text.encode())
        return body

    def headers(self, job: Job, body: str, secret: str) -> dict[str, Any]:
        now = datetime.now(UTC)
        return {
            "webhook-id": job.id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self._signer(job.sub_id, secret).sign(job.id, now, body),
        }

    async def _send(self, job: Job) -> Outcome:
        got = job_inputs(job, self.subs, self._body)
        if isinstance(got, Outcome):
            return got
        sub, body = got
        assert self._session is not None
        headers = self.headers(job, body[0], sub.target["secret"])
        async with self._session.post(sub.target["url"], data=body[1], headers=headers) as r:
            await r.read()  # bounded: the session's BoundedResponse (lalert.outputs.delivery)
            if 200 <= r.status < 300:
                return Outcome(True, status=r.status)
            return Outcome(False, status=r.status, error=f"HTTP {r.status}")
