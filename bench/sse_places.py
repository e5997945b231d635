"""What telling each SSE client the level at its own places costs, per change.

Nara's warning telegrams (VPWW53: issue, then part lifted) enriched over the corpus
municipal polygons, fanned out by the SSE output to N clients streaming for a point in
奈良県 (``?point=lat,lon``): each is told the level where it is, names its places and is
told 解除 when its town is lifted (``lalert.outputs.sse.told``). Baseline, same run and
alternating: the same N clients with no filter, who all get the one shared frame (the
floor of a fan-out: a queue put per client). CPU time of ``_fan_out`` per change, median
of 5 rounds over the issue → update pair.

    .venv/bin/python bench/sse_places.py [--clients 1000,10000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.push_place_levels import CORPUS, corpus_city_geo  # noqa: E402
from lalert.changes import AlertChange  # noqa: E402
from lalert.geo.enrich import enrich  # noqa: E402
from lalert.outputs.sse import SseOutput, _Client, parse_filters  # noqa: E402
from lalert.parsers import parse  # noqa: E402

NARA = (135.54, 33.86, 136.23, 34.78)  # the telegram's bbox (lon/lat)
TELEGRAMS = ("15_08_03_160628_VPWW53.xml", "15_08_04_160628_VPWW53.xml")


def output(n: int, *, placed: bool) -> SseOutput:
    out = SseOutput()
    out.drills = False
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(NARA[0], NARA[2], n), rng.uniform(NARA[1], NARA[3], n)
    for i in range(n):
        cid = f"c{i}"
        filt = parse_filters({"point": f"{lat[i]:.5f},{lon[i]:.5f}"}, cid) if placed else None
        out._clients[cid] = _Client(filt, asyncio.Queue(16))
    return out


def fan_out_cpu(out: SseOutput, changes: list[AlertChange]) -> list[float]:
    spent = []
    for ch in changes:
        t0 = time.process_time()
        out._fan_out(ch)
        spent.append(time.process_time() - t0)
        for c in out._clients.values():  # the clients read what they were sent
            while not c.queue.empty():
                c.queue.get_nowait()
    return spent


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", default="1000,10000")
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    geo = corpus_city_geo()
    alerts = [enrich(parse((CORPUS / "xml" / "jma" / name).read_bytes())[0], geo)
              for name in TELEGRAMS]
    changes = [AlertChange(seq=i + 1, kind=kind, reason="issue", alert=ea,
                           at="2016-06-28T00:00:00+00:00")
               for i, (ea, kind) in enumerate(zip(alerts, ("new", "updated"), strict=True))]
    for n in (int(x) for x in a.clients.split(",")):
        placed, plain = output(n, placed=True), output(n, placed=False)
        per_place: list[float] = []
        floor: list[float] = []
        for _ in range(a.rounds):  # alternate: both see the same machine load
            per_place += fan_out_cpu(placed, changes)
            floor += fan_out_cpu(plain, changes)
        print(f"{n:,} clients by point over 奈良県: per-place frames median "
              f"{statistics.median(per_place) * 1000:.0f} ms CPU per change (max "
              f"{max(per_place) * 1000:.0f}); baseline, one shared frame for all: median "
              f"{statistics.median(floor) * 1000:.0f} ms", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
