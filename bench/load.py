"""Load benchmark: signage players and map readers while a burst is ingested (loopback).

One ``lalert run --demo`` process (outputs signage, map, tiles, feeds, sse). A separate
load process (aiohttp clients) runs

- ``--players`` signage players (default 1,000), each on its own keep-alive connection,
  polling its screen's ``/signage/{id}.json`` every ``--poll`` seconds with
  ``If-None-Match`` (what ``lalert/outputs/signage/static/player.js`` does), and
- ``--readers`` map readers (default 10,000), ``--reader-concurrency`` at a time, each
  loading ``/``, ``/map/data.json``, ``/api/v1/alerts``, ``/tiles.json`` and 4 vector
  tiles around 熊本市,

while this process POSTs a burst of ``--burst`` corpus messages (bench/ingest.py's
generator, 16 clients) and waits until all are applied. The run ends when the readers are
done and the burst is applied (or at ``--max-seconds``). Printed: errors (anything but
200/304, or a failed request: must be 0), latency p50/p95/p99 per route, throughput, the
burst's time. Baseline in the same run: the same routes with no burst and no players.

``--store`` / ``--bus`` pass through to the daemon (``LALERT_STORE`` / ``LALERT_BUS``)
for the scale-out backends.

    .venv/bin/python bench/load.py [--players 1000] [--readers 10000] [--burst 15000]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import queue
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import burst, corpus_messages, distinct, pct  # noqa: E402
from tests.daemon_helpers import start_daemon  # noqa: E402

OUTPUTS = ["signage", "map", "tiles", "feeds", "sse"]
CENTRE = (130.7079, 32.8031)  # 熊本市役所 (lon, lat)
SCREENS = ("cityhall", "kurokami", "chuo-ward", "drill-hall")  # lalert/demo/lalert.toml


def tile_paths(zooms: tuple[int, ...] = (10, 11, 12, 13)) -> list[str]:
    import mercantile

    return [f"/tiles/{t.z}/{t.x}/{t.y}.mvt" for t in (mercantile.tile(*CENTRE, z) for z in zooms)]


class Stats:
    def __init__(self) -> None:
        self.lat: dict[str, list[float]] = defaultdict(list)
        self.codes: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.errors: dict[str, int] = defaultdict(int)
        self.examples: list[str] = []

    async def get(self, s: aiohttp.ClientSession, url: str, route: str,
                  headers: dict[str, str] | None = None) -> tuple[int, str | None]:
        t = time.perf_counter()
        try:
            async with s.get(url, headers=headers) as r:
                await r.read()
                status, etag = r.status, r.headers.get("ETag")
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            self.errors[route] += 1
            if len(self.examples) < 5:
                self.examples.append(f"{route}: {type(exc).__name__} {exc}")
            return 0, None
        self.lat[route].append(time.perf_counter() - t)
        self.codes[route][status] += 1
        if status not in (200, 304):
            self.errors[route] += 1
            if len(self.examples) < 5:
                self.examples.append(f"{route}: HTTP {status}")
        return status, etag

    def to_json(self) -> dict:
        return {"lat": dict(self.lat), "codes": {k: dict(v) for k, v in self.codes.items()},
                "errors": dict(self.errors), "examples": self.examples}


async def _player(s: aiohttp.ClientSession, url: str, path: str, poll: float, stats: Stats,
                  stop: asyncio.Event) -> None:
    await asyncio.sleep(random.random() * poll)  # players are not in phase
    etag = None
    while not stop.is_set():
        _, new = await stats.get(s, url + path, "signage poll (If-None-Match)",
                                 {"If-None-Match": etag} if etag else None)
        etag = new or etag
        try:
            await asyncio.wait_for(stop.wait(), poll)
        except TimeoutError:
            pass


async def _reader(s: aiohttp.ClientSession, url: str, tiles: list[str], stats: Stats) -> None:
    for path, route in (("/", "/ (map page)"), ("/map/data.json", "/map/data.json"),
                        ("/api/v1/alerts", "/api/v1/alerts"), ("/tiles.json", "/tiles.json")):
        await stats.get(s, url + path, route)
    for t in tiles:
        await stats.get(s, url + t, "tiles")


async def _load(url: str, screens: list[str], players: int, readers: int, concurrency: int,
                poll: float, go: mp.Event, done: mp.Event, max_seconds: float) -> dict:
    stats = Stats()
    stop = asyncio.Event()
    timeout = aiohttp.ClientTimeout(total=60)
    tiles = tile_paths()
    rconn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=rconn, timeout=timeout) as rs:
        # every player has its own keep-alive connection, as a screen would
        psessions = [aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1),
                                           timeout=timeout) for _ in range(players)]
        while not go.is_set():
            await asyncio.sleep(0.01)
        t0 = time.perf_counter()
        ptasks = [asyncio.create_task(_player(psessions[i], url, screens[i % len(screens)],
                                              poll, stats, stop)) for i in range(players)]
        sem = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with sem:
                await _reader(rs, url, tiles, stats)

        rtasks = [asyncio.create_task(one()) for _ in range(readers)]
        deadline = t0 + max_seconds
        earliest = t0 + 2 * poll  # every player polls at least twice
        while time.perf_counter() < deadline and not (
                all(t.done() for t in rtasks) and done.is_set()
                and time.perf_counter() >= earliest):
            await asyncio.sleep(0.1)
        elapsed = time.perf_counter() - t0
        stop.set()
        for t in rtasks:
            t.cancel()
        await asyncio.gather(*ptasks, *rtasks, return_exceptions=True)
        for p in psessions:
            await p.close()
    out = stats.to_json()
    out["elapsed"] = elapsed
    out["readers_done"] = sum(1 for t in rtasks if t.done() and not t.cancelled())
    return out


def load_process(args: tuple, q: mp.Queue) -> None:
    q.put(asyncio.run(_load(*args)))


def baseline(url: str, n: int = 300) -> dict[str, list[float]]:
    """The reader routes one at a time, no burst, no players: what each costs alone."""
    async def run() -> Stats:
        stats = Stats()
        async with aiohttp.ClientSession() as s:
            for _ in range(n // 8):
                await _reader(s, url, tile_paths(), stats)
                await stats.get(s, url + "/signage/cityhall.json", "signage poll (If-None-Match)")
        return stats
    return asyncio.run(run()).lat


def summarise(lat: dict[str, list[float]], base: dict[str, list[float]], codes: dict,
              errors: dict, elapsed: float) -> int:
    total = sum(len(v) for v in lat.values())
    print(f"{'route':34s} {'n':>7s} {'p50':>8s} {'p95':>8s} {'p99':>8s}   baseline p50  codes")
    for route in sorted(lat):
        ms = [x * 1000 for x in lat[route]]
        b = [x * 1000 for x in base.get(route, [])]
        bp = f"{statistics.median(b):8.1f} ms" if b else "           -"
        c = ", ".join(f"{k}:{v}" for k, v in sorted(codes[route].items(), key=lambda kv: kv[0]))
        print(f"{route:34s} {len(ms):7d} {statistics.median(ms):6.1f}ms {pct(ms, 95):6.1f}ms "
              f"{pct(ms, 99):6.1f}ms   {bp}  {c}")
    errs = sum(errors.values())
    print(f"throughput: {total} requests in {elapsed:.1f} s = {total / elapsed:,.0f} req/s; "
          f"errors: {errs} ({'ok' if errs == 0 else 'FAILED: must be 0'})")
    return errs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--players", type=int, default=1000)
    ap.add_argument("--readers", type=int, default=10000)
    ap.add_argument("--reader-concurrency", type=int, default=200)
    ap.add_argument("--poll", type=float, default=5.0, help="player poll interval (s)")
    ap.add_argument("--burst", type=int, default=15000)
    ap.add_argument("--max-seconds", type=float, default=300.0)
    ap.add_argument("--store", help="store URL for the daemon (LALERT_STORE)")
    ap.add_argument("--bus", help="bus URL for the daemon (LALERT_BUS)")
    args = ap.parse_args()

    env = {}
    if args.store:
        env["LALERT_STORE"] = args.store
    if args.bus:
        env["LALERT_BUS"] = args.bus
    base_msgs = corpus_messages()
    msgs = [distinct(base_msgs[i % len(base_msgs)], i) for i in range(args.burst)]
    with tempfile.TemporaryDirectory() as tmp:
        d = start_daemon(Path(tmp) / "home", demo=True, outputs=OUTPUTS, env=env)
        try:
            d.wait_applied()
            screens = [f"/signage/{sid}.json" for sid in SCREENS]
            print(f"daemon {d.url} (pid {d.proc.pid}), outputs {OUTPUTS}, "
                  f"store {args.store or 'sqlite'}, bus {args.bus or 'memory'}")
            base = baseline(d.url)
            ctx = mp.get_context("spawn")
            go, done, q = ctx.Event(), ctx.Event(), ctx.Queue()
            proc = ctx.Process(target=load_process, args=((
                d.url, screens, args.players, args.readers, args.reader_concurrency,
                args.poll, go, done, args.max_seconds), q))
            proc.start()
            time.sleep(1.0)  # the load process is importing aiohttp
            go.set()
            print(f"load: {args.players} players polling every {args.poll:.0f} s, "
                  f"{args.readers} readers ({args.reader_concurrency} at a time); "
                  f"burst of {len(msgs)} messages")
            elapsed_burst, accepted = asyncio.run(burst(d.url, d.token, msgs, 16))
            done.set()
            while True:  # the load process ends at its own deadline; never wait on a dead one
                try:
                    result = q.get(timeout=1.0)
                    break
                except queue.Empty:
                    if not proc.is_alive():
                        raise SystemExit(f"the load process died ({proc.exitcode})") from None
            proc.join(30)
            print(f"burst: {accepted}/{len(msgs)} accepted, all applied in {elapsed_burst:.1f} s "
                  f"({len(msgs) / elapsed_burst:,.0f} msg/s) under load; "
                  f"readers finished: {result['readers_done']}/{args.readers}")
            errs = summarise(result["lat"], base, result["codes"], result["errors"],
                             result["elapsed"])
            for e in result["examples"]:
                print("  e.g.", e)
            alive = d.get("/healthz")[0] == 200
            print(f"daemon after the run: healthz {'200' if alive else 'FAILED'}, "
                  f"active {d.health()['active']}")
        finally:
            d.stop()
    return 1 if errs or not alive else 0


if __name__ == "__main__":
    sys.exit(main())
