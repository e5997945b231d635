"""Smoke test of an installed lalert wheel, run by scripts/smoke-wheel.sh with the fresh
virtualenv's Python in isolated mode (-I), from a directory outside the checkout.

Usage: python -I smoke_wheel.py CHECKOUT CORPUS WORKDIR

Checks what a stranger meets after ``pip install lalert-….whl``: ``lalert parse`` and
``lalert validate`` on corpus files (CAP against the shipped OASIS XSD), and ``lalert run
--demo`` answering the map (with its npm scripts), a signage screen with Japanese labels
and the read API. Exits non-zero with the first failed check.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def check(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"smoke: FAILED: {what}")
    print(f"smoke: ok: {what}", flush=True)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lalert")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120)


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as r:  # loopback only
        return r.status, r.read().decode("utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(checkout: Path, corpus: Path, work: Path) -> None:
    import lalert

    where = Path(lalert.__file__).resolve()
    check(checkout.resolve() not in where.parents, f"lalert is imported from the wheel ({where})")

    jma = corpus / "xml" / "jma" / "15_01_01_091210_VPWW50.xml"
    out = run_cli("parse", "--json", str(jma))
    alerts = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    check(out.returncode == 0 and bool(alerts) and alerts[0]["format"] == "jmaxml"
          and alerts[0]["kind"] == "weather_warning",
          f"lalert parse {jma.name} → {len(alerts)} JMA weather warning(s)")

    good = run_cli("validate", str(corpus / "xml" / "cap" / "thunderstorm.cap"))
    check(good.returncode == 0 and "shipped with lalert" in good.stdout,
          "lalert validate thunderstorm.cap: valid against the shipped CAP 1.2 XSD"
          + ("" if good.returncode == 0 else f"\n{good.stdout}{good.stderr}"))
    bad = run_cli("validate", str(corpus / "xml" / "cap" / "invalid.cap"))
    check(bad.returncode == 2 and "CAP schema:" in bad.stdout,
          "lalert validate invalid.cap: rejected by the XSD")

    port = free_port()
    log = (work / "daemon.log").open("w")
    exe = Path(sys.executable).with_name("lalert")
    daemon = subprocess.Popen([str(exe), "run", "--demo", "--home", str(work / "home"),
                               "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                              cwd=work)
    base = f"http://127.0.0.1:{port}"
    try:
        alerts_json: dict = {}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # the demo replays its messages on first start
            try:
                status, body = get(f"{base}/api/v1/alerts")
                alerts_json = json.loads(body)
                if status == 200 and alerts_json.get("features"):
                    break
            except OSError:
                pass
            if daemon.poll() is not None:
                break
            time.sleep(0.5)
        if not alerts_json.get("features"):
            print((work / "daemon.log").read_text()[-3000:], file=sys.stderr)
        check(bool(alerts_json.get("features")),
              f"/api/v1/alerts lists {len(alerts_json.get('features', []))} demo alert(s)")

        status, page = get(f"{base}/")
        scripts = re.findall(r'src="(/static/vendor/[^"]+)"', page)
        check(status == 200 and any("protomaps-leaflet" in s for s in scripts)
              and any("markercluster" in s for s in scripts),
              f"/ (map) names its npm scripts: {scripts}")
        for s in scripts:
            check(get(base + s)[0] == 200, f"{s} is served from the package")

        status, screen = get(f"{base}/signage/cityhall")
        ja = re.findall(r'<span data-l="ja" lang="ja">([^<]+)</span>', screen)
        check(status == 200 and len(ja) >= 3 and all(JAPANESE.search(t) for t in ja),
              f"/signage/cityhall labels in Japanese ({len(ja)}): {ja[:4]}")
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            daemon.kill()
        log.close()
    if daemon.returncode not in (0, -15):  # SIGTERM: the daemon stops cleanly (0)
        print((work / "daemon.log").read_text()[-3000:], file=sys.stderr)
        raise SystemExit(f"smoke: FAILED: daemon exited with {daemon.returncode}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
