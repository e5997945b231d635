"""A webhook receiver is a partner's system, and a compromised one answers however it
likes: its response body is not lalert's to hold. An answer of 200 followed by an endless
body (gigabytes within the request timeout on a fast link) was read whole into memory;
lalert now reads at most a small bound of it, and the 200 counts as delivered."""

from __future__ import annotations

from aiohttp import web

from lalert.store.push import PushStore
from tests.push_fakes import IN_CHUO, LoopbackApp, change, flood
from tests.test_push_webhook import started, subscribe


class EndlessReceiver(LoopbackApp):
    """Answers 200 and then streams bytes until lalert hangs up."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.sent = 0

    async def handler(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        resp = web.StreamResponse(status=200)
        resp.content_type = "application/octet-stream"
        await resp.prepare(request)
        chunk = b"x" * 65536
        try:
            while True:
                await resp.write(chunk)
                self.sent += len(chunk)
        except (ConnectionError, RuntimeError):
            pass
        return resp

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


async def test_an_endless_answer_is_not_read_and_the_200_counts(tmp_path):
    async with EndlessReceiver() as rx:
        out, client = await started(tmp_path, max_attempts=1, timeout_s=5)
        try:
            await subscribe(client, rx, "/endless", IN_CHUO)
            await out.handle(change(1, flood()))
            assert await out.dispatcher.drain(30)
            [d] = PushStore.for_home(tmp_path).deliveries(channel="webhook")
            assert d["state"] == "sent", d
        finally:
            await out.stop()
            await client.close()


class EndlessPushService(EndlessReceiver):
    """A Web Push endpoint anyone can register (the sign-up is anonymous) answering 201
    and then an endless body."""

    route = "/push/{name}"

    def endpoint(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/push/{name}"


async def test_an_endless_web_push_answer_is_not_read(tmp_path):
    from tests.test_push_webpush import Browser
    from tests.test_push_webpush import started as webpush_started
    from tests.test_push_webpush import subscribe as webpush_subscribe

    async with EndlessPushService() as svc:
        out, client = await webpush_started(tmp_path, max_attempts=1, timeout_s=5)
        try:
            r = await webpush_subscribe(client, svc, "stranger", Browser(), IN_CHUO)
            assert r.status == 201, await r.text()
            await out.handle(change(1, flood()))
            assert await out.dispatcher.drain(30)
            [d] = PushStore.for_home(tmp_path).deliveries(channel="webpush")
            assert d["state"] == "sent", d
        finally:
            await out.stop()
            await client.close()
