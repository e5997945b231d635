"""Ingest benchmark against a real ``lalert run --demo`` process (loopback only).

1. Latency: one message POSTed → its alert answered by ``/api/v1/alerts/{id}`` with
   geometry; p50 / p99 over 200 messages, one at a time. Baseline in the same run: the
   round trip of ``GET /healthz`` (what HTTP alone costs). Target p99 <= 50 ms.
2. Burst: 15,000 corpus messages with distinct ids (a per-copy comment changes the
   bytes, hence the JMA id; CAP copies get a new identifier; ``--distinct-events`` also
   gives each JMA copy its own EventID), POSTed by 16 concurrent clients; time until every one is journaled
   *and* applied *and* handled by every output (``/healthz``: journal.applied ==
   messages, nothing pending, every output backlog 0). Target
   <= 30 s; prints throughput and the daemon's peak RSS (VmHWM, target <= 300 MB).

Usage: ``.venv/bin/python bench/ingest.py [--burst 15000] [--latency 200] [--clients 16]``
(``--store`` / ``--bus`` pass through to the daemon; ``bench/backends.py`` starts
PostgreSQL and Redis for a run).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import CORPUS  # noqa: E402
from tests.daemon_helpers import cap, start_daemon  # noqa: E402

EVENT_ID = re.compile(rb"<EventID>([^<]*)</EventID>")
CAP_ID = re.compile(rb"<identifier>([^<]*)</identifier>")


# Times a message states, moved together so that its report time becomes "now".
_TIMES = re.compile(
    rb"<((?:[\w-]+:)?(?:ReportDateTime|DateTime|ValidDateTime|TargetDateTime|OriginTime|"
    rb"ArrivalTime|sent|effective|onset|expires))>([^<]+)</\1>")
_REPORT = re.compile(rb"<(?:[\w-]+:)?(?:ReportDateTime|sent)>([^<]+)<")


def _when(value: bytes) -> datetime | None:
    try:
        t = datetime.fromisoformat(value.decode().strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else None


def to_now(data: bytes, now: datetime) -> bytes:
    """The message as if sent at ``now``: every stated time shifts by ``now - report time``.

    One-shot information (EEW, earthquake reports …) ends a lifetime after its report
    time (``lalert.vocab.lifetimes``); replayed as sent years ago it would be expired on
    arrival and the burst would build no active set."""
    m = _REPORT.search(data)
    report = _when(m.group(1)) if m else None
    if report is None:
        return data
    delta = now - report

    def shift(t: re.Match[bytes]) -> bytes:
        when = _when(t.group(2))
        if when is None:
            return t.group(0)
        tag = t.group(1)
        return b"<%s>%s</%s>" % (tag, (when + delta).isoformat(timespec="seconds").encode(), tag)

    return _TIMES.sub(shift, data)


def corpus_messages(now: datetime | None = None) -> list[bytes]:
    """Corpus messages (JMA + single CAP alerts) that lalert accepts, report times moved
    to ``now`` (default: the current time) by ``to_now``."""
    from lalert.parsers import ParseError, parse

    now = now or datetime.now(UTC)
    out = []
    files = sorted((CORPUS / "xml" / "jma").glob("*.xml")) + sorted(
        (CORPUS / "xml" / "cap").glob("*.cap"))
    for f in files:
        data = to_now(f.read_bytes(), now)
        try:
            if len(parse(data, source=f.name)) == 1:
                out.append(data)
        except ParseError:
            continue
    return out


def distinct(data: bytes, k: int, *, new_event: bool = False) -> bytes:
    """Copy ``k`` of a message: new bytes and message id; a new JMA event only when asked
    (by default copies are further reports of the same events, as in a real flood)."""
    if new_event:
        data = EVENT_ID.sub(lambda m: b"<EventID>" + m.group(1) + b"-b%d</EventID>" % k, data, 1)
    data = CAP_ID.sub(lambda m: b"<identifier>" + m.group(1) + b"-b%d</identifier>" % k, data, 1)
    decl_end = data.find(b"?>") + 2 if data.startswith(b"<?xml") else 0
    return data[:decl_end] + b"<!-- bench copy %d -->" % k + data[decl_end:]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def latency(url: str, token: str, n: int) -> tuple[list[float], list[float]]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/xml"}
    out, base = [], []
    async with aiohttp.ClientSession() as s:
        for i in range(n):
            t = time.perf_counter()
            async with s.get(url + "/healthz") as r:
                await r.read()
            base.append(time.perf_counter() - t)
            body = cap(f"lat-{i}-{time.time_ns()}", sent="2026-07-03T17:00:00+09:00")
            alert_id = re.search(rb"<identifier>([^<]*)", body).group(1).decode()
            t = time.perf_counter()
            async with s.post(url + "/api/v1/messages", data=body, headers=headers) as r:
                assert r.status == 202, await r.text()
            while True:
                async with s.get(f"{url}/api/v1/alerts/{alert_id}") as r:
                    if r.status == 200:
                        doc = await r.json(content_type=None)
                        if doc.get("geometry"):
                            break
            out.append(time.perf_counter() - t)
    return out, base


async def post_all(urls: list[str], status_url: str, token: str, msgs: list[bytes],
                clients: int) -> tuple[float, float, dict[int, int]]:
    """Post ``msgs`` from ``clients`` connections spread over ``urls`` (one daemon, or the
    ingest processes of several) and wait until ``status_url`` reports every one applied
    and output: (seconds until all acknowledged, seconds until all done, statuses)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/xml"}
    queue = list(reversed(msgs))
    statuses: dict[int, int] = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as s:
        async with s.get(status_url + "/healthz") as r:
            start_total = (await r.json())["journal"]["messages"]

        async def client(url: str) -> None:
            while queue:
                data = queue.pop()
                async with s.post(url + "/api/v1/messages", data=data, headers=headers) as r:
                    await r.read()
                    statuses[r.status] = statuses.get(r.status, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(client(urls[i % len(urls)]) for i in range(clients)))
        acked = time.perf_counter() - t0
        target = start_total + len(msgs)
        while True:
            async with s.get(status_url + "/healthz") as r:
                h = await r.json()
            j, backlog = h["journal"], sum(o["backlog"] for o in h["outputs"].values())
            if j["messages"] >= target and j["applied"] >= target and j["pending"] == 0 \
                    and backlog == 0:
                break
            await asyncio.sleep(0.05)
        return acked, time.perf_counter() - t0, statuses


async def burst(url: str, token: str, msgs: list[bytes], clients: int) -> tuple[float, int]:
    acked, elapsed, statuses = await post_all([url], url, token, msgs, clients)
    print(f"  statuses: {statuses}; all acknowledged after {acked:.1f} s")
    return elapsed, statuses.get(202, 0)


def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()  # fields from 3 (state) on


def child_pids(pid: int) -> list[int]:
    out = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and int(_stat(int(proc.name))[1]) == pid:
                out.append(int(proc.name))
        except (OSError, ValueError):
            continue
    return out


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds used so far by the daemon ``pid`` itself and by its child processes
    (the parse workers; children already gone count through cutime/cstime): on a
    shared machine, CPU per message is steadier than wall time."""
    tick = os.sysconf("SC_CLK_TCK")
    own = _stat(pid)
    children = (int(own[13]) + int(own[14])) / tick
    for child in child_pids(pid):
        try:
            st = _stat(child)
        except OSError:
            continue
        children += (int(st[11]) + int(st[12])) / tick
    return (int(own[11]) + int(own[12])) / tick, children


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--latency", type=int, default=200)
    ap.add_argument("--burst", type=int, default=15000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--distinct-events", action="store_true",
                    help="give every JMA copy its own EventID (thousands of events in force)")
    ap.add_argument("--outputs", default=None,
                    help="comma list of outputs (default: those of lalert/demo/lalert.toml)")
    ap.add_argument("--store", help="store URL for the daemon (LALERT_STORE)")
    ap.add_argument("--bus", help="bus URL for the daemon (LALERT_BUS)")
    ap.add_argument("--parse-workers", help="[ingest] parse_workers for the daemon "
                    "(a number or auto: one per core; default 0: parse on its event loop)")
    args = ap.parse_args()
    env = {k: v for k, v in (("LALERT_STORE", args.store), ("LALERT_BUS", args.bus),
                             ("LALERT_INGEST__PARSE_WORKERS", args.parse_workers)) if v}
    base = corpus_messages()
    print(f"corpus: {len(base)} accepted messages to copy from")
    with tempfile.TemporaryDirectory() as tmp:
        outputs = None if args.outputs is None else [o for o in args.outputs.split(",") if o]
        d = start_daemon(Path(tmp) / "home", demo=True, outputs=outputs, env=env)
        try:
            d.wait_applied()
            print(f"daemon {d.url} (pid {d.proc.pid}), demo home, outputs: "
                  f"{'lalert/demo/lalert.toml' if outputs is None else outputs}, "
                  f"store {args.store or 'sqlite'}, bus {args.bus or 'memory'}")
            lat, rtt = asyncio.run(latency(d.url, d.token, args.latency))
            ms = [x * 1000 for x in lat]
            base_ms = [x * 1000 for x in rtt]
            print(f"latency POST → /api/v1/alerts/{{id}} with geometry, n={len(ms)}: "
                  f"p50 {statistics.median(ms):.1f} ms, p99 {pct(ms, 99):.1f} ms "
                  f"(target p99 <= 50 ms: {'ok' if pct(ms, 99) <= 50 else 'MISSED'})")
            print(f"  baseline GET /healthz round trip: p50 {statistics.median(base_ms):.1f} ms, "
                  f"p99 {pct(base_ms, 99):.1f} ms")
            msgs = [distinct(base[i % len(base)], i, new_event=args.distinct_events)
                    for i in range(args.burst)]
            cpu0 = cpu_seconds(d.proc.pid)
            elapsed, ok = asyncio.run(burst(d.url, d.token, msgs, args.clients))
            cpu1 = cpu_seconds(d.proc.pid)
            rss = peak_rss_mb(d.proc.pid)
            kids_rss = [peak_rss_mb(c) for c in child_pids(d.proc.pid)]
            print(f"burst {len(msgs)} msgs, {args.clients} clients: {ok} accepted (202); all "
                  f"journaled and applied in {elapsed:.1f} s = {len(msgs) / elapsed:.0f} msg/s "
                  f"(target <= 30 s: {'ok' if elapsed <= 30 else 'MISSED'})")
            own, kids = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
            print(f"  daemon CPU in the burst: {own:.1f} s (its event loop and threads) + "
                  f"{kids:.1f} s (child processes: parse workers) = "
                  f"{(own + kids) / len(msgs) * 1000:.2f} ms/msg")
            print(f"  daemon peak RSS {rss:.0f} MB (target <= 300 MB: "
                  f"{'ok' if rss <= 300 else 'MISSED'}); child processes' peak RSS "
                  f"{', '.join(f'{r:.0f}' for r in kids_rss) or '-'} MB; "
                  f"active now {d.health()['active']}")
        finally:
            d.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
