"""Push benchmark: matching, webhook fan-out, SSE fan-out. Prints figures.

1. 1,000,000 point subscriptions spread over Kyushu matched against 熊本県's outline
   (the corpus prefecture file; a hand-made box when the corpus is absent): the
   vectorised ``match`` vs a plain per-subscription loop on a subsample, same run.
2. Webhook fan-out: one change to N subscribers on a local receiver in another process
   that verifies every signature — signed deliveries/s end to end (outbox included).
3. SSE fan-out: events/s delivered to 1,000 connected clients (clients in this process).

    .venv/bin/python bench/push.py [--subs 1000000] [--hooks 5000] [--sse 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely
from shapely.prepared import prep

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lalert.subscriptions.index import SubscriptionIndex, _aeqd, match  # noqa: E402
from lalert.subscriptions.model import Subscription  # noqa: E402
from lalert.subscriptions.store import SubscriptionStore  # noqa: E402
from tests.push_fakes import change, ctx, flood, free_port  # noqa: E402

CORPUS = Path(os.environ.get("LALERT_CORPUS", ROOT.parent / "shared" / "corpus"))
KYUSHU = (129.5, 31.0, 132.1, 34.0)  # lon/lat box around Kyushu's main island


def kumamoto() -> dict:
    path = CORPUS / "geo" / "national" / "prefectures_s0001.geojson"
    if path.exists():
        for f in json.loads(path.read_text())["features"]:
            if f["properties"].get("N03_001") == "熊本県":
                return f["geometry"]
    print("  (corpus absent: a hand-made box stands in for 熊本県)")
    return shapely.geometry.mapping(shapely.box(130.1, 32.1, 131.3, 33.2))


def bench_matching(n: int) -> None:
    print(f"\n1. matching {n:,} point subscriptions against 熊本県")
    rng = np.random.default_rng(7)
    lon = rng.uniform(KYUSHU[0], KYUSHU[2], n)
    lat = rng.uniform(KYUSHU[1], KYUSHU[3], n)
    radius = rng.uniform(0, 2_000, n)
    ids = [f"s{i}" for i in range(n)]
    t0 = time.perf_counter()
    idx = SubscriptionIndex.from_points(ids, lon, lat, radius)
    print(f"  index build: {time.perf_counter() - t0:.2f} s")
    fp_geojson = kumamoto()
    alert = flood(footprint=fp_geojson)
    fp = shapely.from_geojson(json.dumps(fp_geojson))
    print(f"  footprint: {shapely.get_num_coordinates(fp):,} vertices")
    times, got = [], []
    for _ in range(5):
        t0 = time.perf_counter()
        got = match(alert, idx)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(f"  vectorised match: median {med * 1000:.0f} ms of 5 runs, {len(got):,} matched")

    # Baseline: a plain loop over a subsample, exact same semantics (point in footprint,
    # or within its radius in metres in the same local projection).
    m = 20_000
    sample = rng.choice(n, m, replace=False)
    prepared = prep(fp)
    c = fp.centroid
    to_m = _aeqd(round(c.y, 3), round(c.x, 3))
    fp_m = shapely.transform(fp, lambda xy: np.column_stack(to_m.transform(xy[:, 0], xy[:, 1])))
    t0 = time.perf_counter()
    loop_hits = set()
    for i in sample:
        p = shapely.Point(lon[i], lat[i])
        if prepared.intersects(p):
            loop_hits.add(int(i))
        elif radius[i] > 0:
            x, y = to_m.transform(lon[i], lat[i])
            if fp_m.distance(shapely.Point(x, y)) <= radius[i]:
                loop_hits.add(int(i))
    loop_s = time.perf_counter() - t0
    per_m = loop_s / m * n
    vec = {int(s[1:]) for s in got}
    agree = {int(i) for i in sample if int(i) in vec} == loop_hits
    print(f"  plain loop: {loop_s:.2f} s for {m:,} → {per_m:.1f} s for {n:,} (extrapolated)")
    print(f"  speed-up: {per_m / med:.0f}×; results agree on the subsample: {agree}")
    print(f"  target ≤ 1 s: {'met' if med <= 1 else 'NOT met'}")


RECEIVER = r"""
import asyncio, sys
from aiohttp import web
from standardwebhooks import Webhook
secret = sys.argv[2]
wh = Webhook(secret)
state = {"n": 0, "bad": 0}
async def hook(request):
    data = await request.read()
    try:
        wh.verify(data, dict(request.headers), json_parse=False)
        state["n"] += 1
    except Exception:
        state["bad"] += 1
    return web.Response(status=204)
async def count(request):
    return web.json_response(state)
app = web.Application()
app.router.add_get("/count", count)
app.router.add_post("/{tail:.*}", hook)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


async def bench_webhooks(n: int) -> None:
    import aiohttp

    from lalert.outputs.webhook import WebhookOutput

    print(f"\n2. webhook fan-out: 1 change → {n:,} subscribers (receiver verifies signatures)")
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    port = free_port()
    rx = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port), secret])
    try:
        async with aiohttp.ClientSession() as s:
            for _ in range(200):
                try:
                    async with s.get(f"http://127.0.0.1:{port}/count") as r:
                        await r.read()
                        break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.05)
            rates = []
            for run in range(3):
                with tempfile.TemporaryDirectory() as home:
                    subs = [Subscription(f"s{i}", "webhook", lat=32.8, lon=130.72, radius_m=10,
                                         target={"url": f"http://127.0.0.1:{port}/h/{i}",
                                                 "secret": secret}) for i in range(n)]  # fmt: skip
                    SubscriptionStore.for_home(Path(home)).add_many(subs)
                    out = WebhookOutput()
                    await out.start(ctx(Path(home), "webhook", workers=128, per_endpoint=2))
                    async with s.get(f"http://127.0.0.1:{port}/count") as r:
                        before = (await r.json())["n"]
                    t0 = time.perf_counter()
                    await out.handle(change(1, flood()))
                    await out.dispatcher.drain()
                    dt = time.perf_counter() - t0
                    async with s.get(f"http://127.0.0.1:{port}/count") as r:
                        st = await r.json()
                    states = out.box.states("webhook")
                    await out.stop()
                    SubscriptionStore.for_home(Path(home)).close()
                    out.box.close()
                got = st["n"] - before
                rates.append(got / dt)
                print(f"  run {run + 1}: {got:,} verified in {dt:.2f} s = {got / dt:,.0f}/s "
                      f"(outbox {states}, bad signatures {st['bad']})")
            med = statistics.median(rates)
            print(f"  median {med:,.0f} signed deliveries/s; target ≥ 5,000/s: "
                  f"{'met' if med >= 5000 else 'NOT met'}")
    finally:
        rx.terminate()
        rx.wait()


async def bench_sse(n_clients: int, n_events: int = 20) -> None:
    import aiohttp
    from aiohttp import web

    from lalert.outputs.sse import SseOutput

    print(f"\n3. SSE fan-out: {n_events} changes → {n_clients:,} clients (same process)")
    with tempfile.TemporaryDirectory() as home:
        out = SseOutput()
        await out.start(ctx(Path(home), "sse", heartbeat_s=30, max_clients=n_clients + 10))
        app = web.Application()
        app.add_routes(out.routes())
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=2048).start()
        received = 0
        done = asyncio.Event()

        async def client(session: aiohttp.ClientSession, i: int) -> None:
            nonlocal received
            q = "" if i % 2 else "?point=32.80,130.72"  # half filtered, half not
            async with session.get(f"http://127.0.0.1:{port}/api/v1/stream{q}") as r:
                async for line in r.content:
                    if line.startswith(b"id: "):
                        received += 1
                        if received >= n_clients * n_events:
                            done.set()
                            return
                        if int(line[4:]) == n_events:
                            return

        conn = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout()) as s:
            tasks = [asyncio.create_task(client(s, i)) for i in range(n_clients)]
            while out.clients < n_clients:
                await asyncio.sleep(0.05)
            t0 = time.perf_counter()
            for seq in range(1, n_events + 1):
                await out.handle(change(seq, flood(id=f"a{seq}", serial=seq)))
            await asyncio.wait_for(asyncio.gather(*tasks), 120)
            dt = time.perf_counter() - t0
        print(f"  {received:,} events in {dt:.2f} s = {received / dt:,.0f} events/s "
              f"({n_events / dt:.1f} changes/s to every client)")
        await out.stop()
        await runner.cleanup()
        out.box.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subs", type=int, default=1_000_000)
    ap.add_argument("--hooks", type=int, default=5_000)
    ap.add_argument("--sse", type=int, default=1_000)
    a = ap.parse_args()
    bench_matching(a.subs)
    asyncio.run(bench_webhooks(a.hooks))
    asyncio.run(bench_sse(a.sse))


if __name__ == "__main__":
    main()
