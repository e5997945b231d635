"""Tile serving benchmark (the tiles section of the serving benchmarks). Prints figures.

1. Rebuild: after an alert change, the time to build the tile source and cut every tile
   of 熊本県 (z4–12) from the real N03 boundaries and 3,099 GSI sites (corpus), 12 alerts
   on real JMA warning-area polygons. Median of 3.
2. Serving one hot z12 tile (what a crowd fetches) under ``wrk`` on loopback: lalert's
   tile route (one aiohttp process, TilesOutput's LRU, no access log) against nginx
   (``worker_processes 1``, ``access_log off``) serving the ``--dir`` export of the same
   tiles — 200s and 304s (If-None-Match). Median of 3 runs each; target >= 50 % of nginx.

Run: ``.venv/bin/python bench/serve_tiles.py`` (needs nginx and wrk; corpus via LALERT_CORPUS).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = Path(os.environ.get("LALERT_CORPUS", ROOT.parent / "shared" / "corpus")).resolve()
MINZOOM, MAXZOOM = 4, 12
HOT = (130.70, 32.80, 12)  # central 熊本市


def kumamoto_geo():
    from lalert.geo.data import build_geodata
    from lalert.geo.readers import read_source

    files = [CORPUS / "geo/municipalities/N03-21_43_210101.geojson",
             CORPUS / "geo/derived/kumamoto_shelters_flat.csv"]
    loaded = [x for f in files for x in read_source(f, progress=False)]
    return build_geodata(areas=[x.areas for x in loaded], shelters=[x.shelters for x in loaded],
                         hotspots=[x.hotspots for x in loaded], codes=[x.codes for x in loaded])


def kumamoto_alerts(level: int = 4):
    """12 hand-made alerts on real JMA warning-area polygons (benchmark input, not real)."""
    from lalert.model import Alert, Area, EnrichedAlert

    gj = json.loads((CORPUS / "geo/derived/kumamoto_jma_warning_areas.geojson").read_text("utf-8"))
    cities = [f for f in gj["features"] if f["properties"].get("level") == "city"][:12]
    out = []
    for i, f in enumerate(cities):
        p = f["properties"]
        area = Area(code=p["code"], scheme="jma.city", name=p["name"], geometry=f["geometry"])
        alert = Alert(format="jmaxml", id=f"bench-{i}", info_type="issue", status="actual",
                      kind="weather_warning", title="大雨警報", issued_at="2026-07-01T10:00:00+09:00",
                      raw_sha256="0" * 64, level=level - (i % 3), areas=(area,))
        out.append(EnrichedAlert(alert=alert, areas=(area,), footprint=f["geometry"]))
    return out


@dataclass
class State:
    alerts: list
    version: int = 1

    def active(self, *, drills: bool = False):
        return self.alerts

    def get(self, alert_id: str):
        return None


def rebuild_seconds(geo, alerts) -> tuple[float, int]:
    from lalert.outputs.tiles.build import TileSource

    t0 = time.perf_counter()
    src = TileSource.build(alerts, geo)
    n = sum(1 for t in src.tiles_covering(MINZOOM, MAXZOOM) if src.tile(t.z, t.x, t.y) or True)
    return time.perf_counter() - t0, n


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_lalert(port: int) -> None:
    """Child process: TilesOutput's routes over the Kumamoto data, as the daemon mounts them."""
    from aiohttp import web

    from lalert.outputs.base import OutputContext
    from lalert.outputs.tiles import TilesOutput

    out = TilesOutput()
    ctx = OutputContext(name="tiles", config={}, home=Path("."), state=State(kumamoto_alerts()),
                        geo=kumamoto_geo())

    async def main() -> None:
        await out.start(ctx)
        app = web.Application()
        app.add_routes(out.routes())
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        print("ready", flush=True)
        await asyncio.Event().wait()

    try:  # what a deployment would run (uvloop is optional; the stdlib loop also works)
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def wrk(url: str, headers: dict[str, str], *, seconds: int = 4, conns: int = 32) -> float:
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx or 3xx responses" in out:
        raise RuntimeError(f"errors from {url}:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def etag_of(url: str) -> str:
    with urllib.request.urlopen(url) as r:
        return r.headers["ETag"]


def nginx_conf(root: Path, port: int, work: Path) -> Path:
    conf = work / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  types {{ application/vnd.mapbox-vector-tile mvt; application/json json; }}
  client_body_temp_path {work}/body; proxy_temp_path {work}/proxy;
  fastcgi_temp_path {work}/fcgi; uwsgi_temp_path {work}/uwsgi; scgi_temp_path {work}/scgi;
  server {{ listen 127.0.0.1:{port}; root {root}; }}
}}
""")
    return conf


def tiles_section(runs: int = 3, seconds: int = 4) -> dict[str, float]:
    """Print and return the tile figures (callable from bench/serve.py)."""
    import mercantile

    from lalert.outputs.tiles.build import TileSource
    from lalert.outputs.tiles.export import export_dir

    geo = kumamoto_geo()
    alerts = kumamoto_alerts()
    rebuilds = [rebuild_seconds(geo, kumamoto_alerts(level=4 + (i % 2))) for i in range(runs)]
    rb = statistics.median(r[0] for r in rebuilds)
    n_tiles = rebuilds[0][1]
    print(f"tiles: rebuild all 熊本県 tiles z{MINZOOM}-{MAXZOOM} after an alert change: "
          f"{rb:.2f} s for {n_tiles} tiles ({n_tiles / rb:,.0f} tiles/s), median of {runs}")

    figures: dict[str, float] = {"rebuild_s": rb, "tiles": n_tiles}
    if not (shutil.which("nginx") and shutil.which("wrk")):
        print("tiles: nginx or wrk missing; serving comparison skipped")
        return figures
    t = mercantile.tile(*HOT)
    path = f"/{t.z}/{t.x}/{t.y}.mvt"
    with tempfile.TemporaryDirectory(prefix="lalert-bench-tiles-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)
        export_dir(TileSource.build(alerts, geo), work / "tiles", minzoom=MINZOOM, maxzoom=MAXZOOM)
        lp, np_ = free_port(), free_port()
        lal = subprocess.Popen([sys.executable, __file__, "--serve", str(lp)],
                               stdout=subprocess.PIPE, text=True)
        ngx = subprocess.Popen(["nginx", "-c", str(nginx_conf(work / "tiles", np_, work))],
                               stderr=subprocess.DEVNULL)
        try:
            lurl, nurl = f"http://127.0.0.1:{lp}/tiles{path}", f"http://127.0.0.1:{np_}{path}"
            wait_http(lurl)
            wait_http(nurl)
            with urllib.request.urlopen(lurl) as a, urllib.request.urlopen(nurl) as b:
                assert a.read() == b.read(), "lalert and the export serve different bytes"
            rows = []
            for label, hdr in (("200", False), ("304", True)):
                lh = {"If-None-Match": etag_of(lurl)} if hdr else {}
                nh = {"If-None-Match": etag_of(nurl)} if hdr else {}
                lr = statistics.median(wrk(lurl, lh, seconds=seconds) for _ in range(runs))
                nr = statistics.median(wrk(nurl, nh, seconds=seconds) for _ in range(runs))
                rows.append((label, lr, nr))
                figures[f"lalert_{label}_rps"], figures[f"nginx_{label}_rps"] = lr, nr
            loop = "uvloop" if _has_uvloop() else "asyncio"
            print(f"tiles: one hot z{t.z} tile, wrk -t2 -c32 {seconds}s, median of {runs} "
                  f"(lalert: 1 aiohttp process on {loop}; nginx: 1 worker)")
            print(f"  {'status':<7}{'lalert req/s':>14}{'nginx req/s':>14}{'ratio':>8}  target >= 50 %")
            for label, lr, nr in rows:
                verdict = "ok" if lr >= 0.5 * nr else "BELOW"
                print(f"  {label:<7}{lr:>14,.0f}{nr:>14,.0f}{lr / nr:>8.0%}  {verdict}")
        finally:
            for proc in (lal, ngx):
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
    return figures


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=4)
    args = ap.parse_args()
    if args.serve:
        serve_lalert(args.serve)
        return
    tiles_section(args.runs, args.seconds)


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
