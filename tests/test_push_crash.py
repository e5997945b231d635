"""kill -9 in the middle of a fan-out to 1,000 webhook subscribers, then restart.

Every subscriber must get each alert version (by webhook-id) and nothing the outbox had
recorded as sent may be sent again. The only repeats allowed are deliveries whose 2xx
had arrived but whose ``sent`` state had not reached disk at the kill — bounded by the
number in flight, and carrying the same webhook-id so the receiver's dedupe makes the
effect exactly-once.

Until the daemon fixture drives this through ``lalert run``, a child process runs the
webhook output directly with the same outbox the daemon uses.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path

from lalert.storage import delivery_id
from lalert.subscriptions.model import Subscription
from lalert.subscriptions.store import SubscriptionStore
from tests.push_fakes import IN_CHUO, WebhookReceiver

ROOT = Path(__file__).resolve().parent.parent
N_SUBS = 1_000
WORKERS = 16
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

CHILD = """
import asyncio, sys
from pathlib import Path
from lalert.outputs.webhook import WebhookOutput
from tests.push_fakes import change, ctx, flood

async def main():
    out = WebhookOutput()
    await out.start(ctx(Path(sys.argv[1]), "webhook", workers=WORKERS, per_endpoint=1,
                        base_delay_s=0.05, max_delay_s=0.2))
    # the daemon re-offers changes after a restart; handle() must be idempotent per seq
    await out.handle(change(1, flood()))
    await out.handle(change(2, flood(id="jma-flood-2", serial=2), "updated", "update"))
    await out.dispatcher.drain()
    print("drained", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
""".replace("WORKERS", str(WORKERS))


def sent_in_outbox(home: Path) -> set[str]:
    db = sqlite3.connect(home / "push.sqlite")
    try:
        return {r[0] for r in db.execute("SELECT id FROM deliveries WHERE state='sent'")}
    finally:
        db.close()


async def run_child(home: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(home), cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )


async def test_kill_9_mid_fan_out_loses_nothing_and_resends_nothing_confirmed(tmp_path):
    async with WebhookReceiver() as rx:
        subs = []
        for i in range(N_SUBS):
            path = f"/hook/{i}"
            rx.secrets[path] = SECRET
            subs.append(Subscription(f"s{i}", "webhook", lat=IN_CHUO[0], lon=IN_CHUO[1],
                                     radius_m=100, target={"url": rx.url(path), "secret": SECRET}))
        store = SubscriptionStore.for_home(tmp_path)
        store.add_many(subs)
        store.close()
        expected = {delivery_id("webhook", seq, f"s{i}") for seq in (1, 2) for i in range(N_SUBS)}

        child = await run_child(tmp_path)
        try:
            async with asyncio.timeout(60):
                while sum(rx.ids.values()) < 600:
                    await asyncio.sleep(0.005)
        finally:
            child.kill()  # SIGKILL: no cleanup, no flush
            await child.wait()
        confirmed_before = set(rx.ids)
        committed = sent_in_outbox(tmp_path)
        assert 0 < len(committed) < len(expected), "the kill must land mid fan-out"
        assert committed <= confirmed_before
        counts_before = dict(rx.ids)

        child = await run_child(tmp_path)
        try:
            async with asyncio.timeout(60):
                line = await child.stdout.readline()
            assert line.strip() == b"drained"
        finally:
            child.kill()
            await child.wait()

        assert rx.bad_signatures == 0
        assert set(rx.ids) == expected, f"missing: {len(expected - set(rx.ids))}"
        resent = {i for i, n in rx.ids.items() if n > counts_before.get(i, 0) and i in counts_before}
        assert not (resent & committed), "a delivery recorded as sent was sent again"
        assert len(resent) <= WORKERS, f"{len(resent)} repeats, more than were in flight"
        assert all(n <= 2 for n in rx.ids.values())
        assert sent_in_outbox(tmp_path) == expected


async def test_kill_9_of_the_real_daemon_mid_fan_out(tmp_path):
    """The same guarantee through ``lalert run``: ingest → lifecycle → bus → webhook."""
    from tests.daemon_helpers import start_daemon
    from tests.test_push_daemon import message

    home = tmp_path / "home"
    async with WebhookReceiver() as rx:
        subs = []
        for i in range(N_SUBS):
            path = f"/hook/{i}"
            rx.secrets[path] = SECRET
            subs.append(Subscription(f"s{i}", "webhook", lat=32.825, lon=130.745, radius_m=50,
                                     target={"url": rx.url(path), "secret": SECRET}))
        store = SubscriptionStore.for_home(home)
        store.add_many(subs)
        store.close()
        d = await asyncio.to_thread(
            start_daemon, home, outputs=["webhook"],
            config_text=f"[outputs.webhook]\nworkers = {WORKERS}\nper_endpoint = 1\n",
            env={"LALERT_PUSH__ALLOW_DESTINATIONS": "127.0.0.0/8"},
        )
        try:
            status, _ = await asyncio.to_thread(d.post, message())
            assert status == 202
            async with asyncio.timeout(60):
                while sum(rx.ids.values()) < 300:
                    await asyncio.sleep(0.005)
            d.kill()
            committed = sent_in_outbox(home)
            assert 0 < len(committed) < N_SUBS, "the kill must land mid fan-out"
            counts_before = dict(rx.ids)
            await asyncio.to_thread(d.restart)
            async with asyncio.timeout(60):
                while len(rx.ids) < N_SUBS:
                    await asyncio.sleep(0.02)
        finally:
            await asyncio.to_thread(d.stop)
        db = sqlite3.connect(home / "push.sqlite")
        expected = {r[0] for r in db.execute("SELECT id FROM deliveries WHERE channel='webhook'")}
        db.close()
        assert len(expected) == N_SUBS and set(rx.ids) == expected and rx.bad_signatures == 0
        resent = {i for i, n in rx.ids.items() if n > counts_before.get(i, 0) and i in counts_before}
        assert not (resent & committed)
        assert len(resent) <= WORKERS
        assert sent_in_outbox(home) == expected
