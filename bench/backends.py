"""The 15,000-message burst on SQLite and on PostGIS + Redis (1 and 2 processes), one run.

    .venv/bin/python bench/backends.py [--burst 15000] [--clients 16] [--runs 1]
    .venv/bin/python bench/backends.py --only pg1          # one configuration
    .venv/bin/python bench/backends.py --pass bench/load.py [its arguments …]

Starts a throw-away PostgreSQL (PostGIS) and ``redis-server`` the way the test suite
does (``tests/backends.py``: temporary directories, loopback, as the ``postgres`` user
when run as root), then times the burst of ``bench/ingest.py`` (corpus messages made
distinct, 16 clients; until every one is journaled, applied and handled by every
output) on:

- ``sqlite``: ``lalert run --demo`` on SQLite and the in-memory bus (the baseline);
- ``pg1``: the same daemon on PostGIS + Redis;
- ``pg2``: that daemon plus a ``lalert worker --role ingest`` process, the clients split
  between the two.

Each configuration gets a fresh database and stream. Prints the time, throughput and
peak RSS (VmHWM) of every lalert process. Unlike the tests' server, PostgreSQL keeps
``fsync`` on: a journal commit costs what it costs in production, so the figures compare
fairly with SQLite's (``synchronous=FULL``). ``--pass`` runs another bench with
``--store``/``--bus`` appended instead. Needs Debian ``postgresql``,
``postgresql-15-postgis-3`` and ``redis-server`` (``scripts/test-services.sh``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import corpus_messages, distinct, peak_rss_mb, post_all  # noqa: E402
from tests.backends import PG_BIN, _as_pg_user, free_port  # noqa: E402
from tests.daemon_helpers import start_daemon  # noqa: E402


def cpu_s(pid: int, *, reaped: bool = False) -> float:
    """User + system CPU seconds of a process, its threads and its live descendants (the
    parse pool) so far: on a shared machine the wall time swings with the neighbours'
    load, the CPU a burst costs much less. ``reaped`` adds the children that ended and
    were waited for (PostgreSQL's per-connection backends, counted by the postmaster)."""
    import os

    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:  # ended meanwhile
            continue
        ticks = int(fields[11]) + int(fields[12])
        if reaped:
            ticks += int(fields[13]) + int(fields[14])
        total += ticks / os.sysconf("SC_CLK_TCK")
        todo += [int(k) for k in kids]
    return total


SERVERS: dict[str, int] = {}  # "PostgreSQL" / "Redis" → server pid, filled by main()


def servers_cpu() -> dict[str, float]:
    """CPU seconds so far of the database and the stream server: on one machine they
    share its cores with lalert, so a burst's floor is everyone's CPU over the cores."""
    return {name: cpu_s(pid, reaped=True) for name, pid in SERVERS.items()}


TARGET_S = 30.0
TARGET_RSS_MB = 300.0


def start_pg(base: Path) -> tuple[int, Path]:
    user = _as_pg_user()
    if user:
        shutil.chown(base, "postgres")
    data, port = base / "data", free_port()
    subprocess.run([*user, str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U",
                    "postgres", "-E", "UTF8"], check=True, stdout=subprocess.DEVNULL)
    opts = (f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c max_connections=200 "
            "-c shared_buffers=128MB")
    subprocess.run([*user, str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-l",
                    str(base / "log"), "-w", "-t", "60", "start"], check=True,
                   stdout=subprocess.DEVNULL)
    return port, data


def createdb(port: int, name: str) -> str:
    subprocess.run([*_as_pg_user(), str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p",
                    str(port), "-U", "postgres", name], check=True)
    return f"postgresql://postgres@127.0.0.1:{port}/{name}"


def stop_pg(data: Path) -> None:
    subprocess.run([*_as_pg_user(), str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast",
                    "stop"], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_redis(base: Path) -> tuple[int, subprocess.Popen]:
    import socket

    port = free_port()
    proc = subprocess.Popen([shutil.which("redis-server") or "/usr/bin/redis-server", "--port",
                             str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                             "no", "--dir", str(base)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return port, proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.05)


def run_one(name: str, env: dict[str, str], msgs: list[bytes], clients: int,
            workers: int) -> tuple[float, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        d = start_daemon(Path(tmp) / "home", demo=True, env=env)
        extra = []
        try:
            d.wait_applied()
            if workers > 1:
                from tests.test_workers import Worker

                for i in range(workers - 1):
                    w = Worker(home=Path(tmp) / f"ingest{i}", token=d.token, env=d.env, args=[])
                    w.role = "ingest"
                    extra.append(w.start())
                for w in extra:
                    w.ready()
            urls = [d.url] + [w.url for w in extra]
            procs = [d, *extra]
            cpu0, srv0 = [cpu_s(p.proc.pid) for p in procs], servers_cpu()
            acked, elapsed, statuses = asyncio.run(post_all(urls, d.url, d.token, msgs, clients))
            cpu = [cpu_s(p.proc.pid) - c for p, c in zip(procs, cpu0, strict=True)]
            srv = {k: v - srv0[k] for k, v in servers_cpu().items()} if env else {}
            rss = [peak_rss_mb(p.proc.pid) for p in procs]
        finally:
            for w in extra:
                w.stop()
            d.stop()
    ok = statuses.get(202, 0)
    print(f"{name:7s} {len(msgs)} msgs, {clients} clients, {workers} process(es): {ok} × 202"
          f" (statuses {statuses}); acknowledged {acked:.1f} s, journaled + applied + output"
          f" {elapsed:.1f} s = {len(msgs) / elapsed:.0f} msg/s; CPU "
          + ", ".join(f"{c:.1f} s" for c in cpu) + "; peak RSS "
          + ", ".join(f"{r:.0f} MB" for r in rss), flush=True)
    total = sum(cpu) + sum(srv.values())
    cores = os.cpu_count() or 1
    print(f"        CPU of lalert {sum(cpu):.1f} s"
          + "".join(f" + {k} {v:.1f} s" for k, v in srv.items())
          + f" = {total:.1f} s: at least {total / cores:.1f} s of wall time on {cores} cores",
          flush=True)
    return elapsed, rss


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--burst", type=int, default=15000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--runs", type=int, default=1, help="runs per configuration (median)")
    ap.add_argument("--only", default="sqlite,pg1,pg2")
    ap.add_argument("--pass", dest="passthrough", nargs=argparse.REMAINDER,
                    help="run this bench with --store/--bus appended instead")
    args = ap.parse_args()
    pg_base = Path(tempfile.mkdtemp(prefix="lalert-bench-pg-"))
    rd_base = Path(tempfile.mkdtemp(prefix="lalert-bench-redis-"))
    data = proc = None
    try:
        pg_port, data = start_pg(pg_base)
        rd_port, proc = start_redis(rd_base)
        SERVERS["PostgreSQL"] = int((data / "postmaster.pid").read_text().split()[0])
        SERVERS["Redis"] = proc.pid
        print(f"PostgreSQL (fsync on) on 127.0.0.1:{pg_port}, Redis on 127.0.0.1:{rd_port}",
              flush=True)
        if args.passthrough:
            store = createdb(pg_port, "lalert")
            cmd = [sys.executable, *args.passthrough, "--store", store, "--bus",
                   f"redis://127.0.0.1:{rd_port}/0"]
            return subprocess.run(cmd, cwd=ROOT).returncode
        base = corpus_messages()
        msgs = [distinct(base[i % len(base)], i) for i in range(args.burst)]
        print(f"corpus: {len(base)} accepted messages copied to {len(msgs)}", flush=True)
        results: dict[str, list[tuple[float, list[float]]]] = {}
        for run in range(args.runs):
            for name in args.only.split(","):
                env: dict[str, str] = {}
                if name.startswith("pg"):
                    env = {"LALERT_STORE": createdb(pg_port, f"b_{name}_{run}"),
                           "LALERT_BUS": f"redis://127.0.0.1:{rd_port}/0"
                                         f"?stream=b-{secrets.token_hex(4)}"}
                workers = int(name[2:]) if name.startswith("pg") else 1
                results.setdefault(name, []).append(
                    run_one(name, env, msgs, args.clients, workers))
        print("summary (median of runs):")
        for name, rs in results.items():
            t = statistics.median(r[0] for r in rs)
            rss = max(max(r[1]) for r in rs)
            print(f"  {name:7s} {t:5.1f} s (target <= {TARGET_S:.0f} s: "
                  f"{'ok' if t <= TARGET_S else 'MISSED'}), peak RSS per process <= {rss:.0f} MB "
                  f"(target <= {TARGET_RSS_MB:.0f}: {'ok' if rss <= TARGET_RSS_MB else 'MISSED'})")
        return 0
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        if data is not None:
            stop_pg(data)
        shutil.rmtree(pg_base, ignore_errors=True)
        shutil.rmtree(rd_base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
