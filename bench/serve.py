"""Serving benchmark: lalert's render-once pages vs nginx serving the static export.

Sections (run all, or name some): each starts what it needs on loopback, measures with
``wrk`` at the same concurrency for both servers, and prints both figures and the ratio.

- ``signage``: one signage page (the demo's first screen), full GETs (200) and
  conditional GETs (``If-None-Match`` → 304); the demo daemon (``lalert run --demo``)
  against nginx serving ``lalert signage export``. Target: lalert ≥ 50 % of nginx.

Other sections (tiles, map) are added to ``SECTIONS`` the same way.

    .venv/bin/python bench/serve.py [signage ...] [--seconds 5] [--connections 32]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
WRK = shutil.which("wrk") or "/usr/bin/wrk"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 - loopback only
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def etag_of(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 - loopback only
        return r.headers["ETag"]


def wrk(url: str, *, seconds: int, connections: int, headers: dict[str, str] | None = None,
        expect: int = 200) -> float:
    """Requests/s from one wrk run; refuses a run whose status is not the expected one."""
    cmd = [WRK, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    for k, v in (headers or {}).items():
        cmd[1:1] = ["-H", f"{k}: {v}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    if "Non-2xx or 3xx responses" in out and expect < 300:
        raise RuntimeError(f"non-2xx answers from {url}:\n{out}")
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m:
        raise RuntimeError(f"cannot read wrk output:\n{out}")
    got = status_of(url, headers or {})
    if got != expect:
        raise RuntimeError(f"{url}: status {got}, expected {expect}")
    return float(m.group(1))


def status_of(url: str, headers: dict[str, str]) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:  # noqa: S310
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


@contextlib.contextmanager
def demo_daemon(home: Path) -> Iterator[str]:
    port = free_port()
    log = open(home / "daemon.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([PY, "-m", "lalert", "run", "--demo", "--port", str(port),
                             "--home", str(home), "--log-level", "WARNING"],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextlib.contextmanager
def nginx(root: Path, work: Path) -> Iterator[str]:
    port = free_port()
    conf = work / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {work}/tmp; proxy_temp_path {work}/tmp; fastcgi_temp_path {work}/tmp;
  uwsgi_temp_path {work}/tmp; scgi_temp_path {work}/tmp;
  types {{ text/html html; application/json json; text/css css; text/javascript js; }}
  server {{
    listen 127.0.0.1:{port};
    root {root};
    location / {{ add_header Cache-Control "public, no-cache"; }}
  }}
}}
""")
    (work / "tmp").mkdir(exist_ok=True)
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(work)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/index.html")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def bench_signage(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="lalert-bench-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)  # nginx workers run as an unprivileged user
        home, export = work / "home", work / "export"
        home.mkdir()
        with demo_daemon(home) as base:
            subprocess.run([PY, "-m", "lalert", "signage", "export", str(export), "--demo",
                            "--home", str(home),
                            "--config", str(ROOT / "lalert" / "demo" / "lalert.toml")],
                           cwd=ROOT, check=True, capture_output=True)
            screen = sorted(p.stem for p in export.glob("*.json"))[0]
            with nginx(export, work) as nx:
                targets = {"lalert": f"{base}/signage/{screen}", "nginx": f"{nx}/{screen}.html"}
                rows = []
                for label, cond in (("full GET (200)", False), ("conditional GET (304)", True)):
                    figs = {}
                    for name, url in targets.items():
                        hdr = {"If-None-Match": etag_of(url)} if cond else {}
                        if cond and status_of(url, hdr) != 304:
                            raise RuntimeError(f"{name} does not answer 304 on {url}")
                        figs[name] = wrk(url, seconds=args.seconds, connections=args.connections,
                                         headers=hdr, expect=304 if cond else 200)
                    rows.append((label, figs["lalert"], figs["nginx"]))
    print(f"\nsignage page /signage/{screen}, wrk -t2 -c{args.connections} "
          f"-d{args.seconds}s, loopback, one run each")
    print(f"{'':24}{'lalert req/s':>14}{'nginx req/s':>14}{'ratio':>9}")
    for label, lal, ngx in rows:
        ratio = lal / ngx if ngx else float("nan")
        flag = "ok" if ratio >= 0.5 else "below 50 % target"
        print(f"{label:24}{lal:14,.0f}{ngx:14,.0f}{ratio:9.2f}  {flag}")


def bench_tiles(args: argparse.Namespace) -> None:
    """Vector tiles: rebuild time of all 熊本県 tiles, and one hot tile (200 / 304) from
    lalert's tile route vs nginx on the ``--dir`` export (details in bench/serve_tiles.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from serve_tiles import tiles_section

    print()
    tiles_section(runs=3, seconds=args.seconds)


SECTIONS: dict[str, Callable[[argparse.Namespace], None]] = {"signage": bench_signage,
                                                              "tiles": bench_tiles}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("sections", nargs="*",
                   help=f"sections to run (default all): {', '.join(SECTIONS)}")
    p.add_argument("--seconds", type=int, default=5)
    p.add_argument("--connections", type=int, default=32)
    args = p.parse_args()
    names = args.sections or list(SECTIONS)
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        p.error(f"unknown section(s) {unknown}; known: {list(SECTIONS)}")
    for n in names:
        SECTIONS[n](args)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
