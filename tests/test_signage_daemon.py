"""Signage end to end on a real ``lalert run``: a POSTed alert takes over the screen it
covers within 2 s, a cancel returns it to normal, drills reach drill screens only, and
``lalert signage export`` writes what nginx serves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.daemon_helpers import ROOT, cap, start_daemon

CONFIG = """
[outputs]
enabled = ["signage"]
[outputs.signage]
drills = true
[[outputs.signage.screens]]
id = "inside"
name = "熊本市中心部 テスト画面"
lat = 32.80
lon = 130.70
[[outputs.signage.screens]]
id = "outside"
name = "圏外 テスト画面"
lat = 33.50
lon = 131.00
[[outputs.signage.screens]]
id = "drill"
name = "訓練 テスト画面"
lat = 32.80
lon = 130.70
drills = true
"""
REF = "test@lalert.example,{id},2026-07-03T17:00:00+09:00"


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    daemon = start_daemon(tmp_path_factory.mktemp("signage") / "home", config_text=CONFIG)
    try:
        yield daemon
    finally:
        daemon.stop()


def mode(d, screen: str) -> str:
    status, body = d.get_json(f"/signage/{screen}.json")
    assert status == 200
    return body["mode"]


def test_etag_and_304_on_the_daemon(d):
    for path in ("/signage/", "/signage/inside", "/signage/inside.json",
                 "/signage/static/player.js", "/signage/sw.js"):
        status, headers, _ = d.get(path)
        assert status == 200 and headers["ETag"], path
        assert d.get(path, {"If-None-Match": headers["ETag"]})[0] == 304, path


def test_post_takes_over_within_2s_and_cancel_returns_to_normal(d):
    _, before, _ = d.get("/signage/inside")
    assert mode(d, "inside") == "normal"
    assert d.post(cap("sig-1"))[0] in (200, 202)
    d.wait(lambda: mode(d, "inside") == "takeover", timeout=2.0, what="takeover within 2 s")
    status, _, page = d.get("/signage/inside", {"If-None-Match": before["ETag"]})
    assert status == 200 and "警戒レベル4" in page.decode()
    assert mode(d, "outside") == "normal"  # the alert does not cover it
    assert mode(d, "drill") == "takeover"  # real alerts show on drill screens too

    cancel = cap("sig-1-cancel", msg_type="Cancel", references=REF.format(id="sig-1"),
                 sent="2026-07-03T17:10:00+09:00")
    assert d.post(cancel)[0] in (200, 202)
    d.wait(lambda: mode(d, "inside") == "normal", timeout=5.0, what="back to normal")
    status, headers, _ = d.get("/signage/inside")
    assert headers["ETag"] == before["ETag"]  # the same page as before the alert


def test_drill_reaches_drill_screens_only(d):
    assert d.post(cap("sig-drill", status="Exercise", sent="2026-07-03T17:20:00+09:00"))[0] in (200, 202)
    d.wait(lambda: mode(d, "drill") == "takeover", timeout=5.0, what="drill on the drill screen")
    _, body = d.get_json("/signage/drill.json")
    assert body["drill"] is True
    page = d.get("/signage/drill")[2].decode()
    assert "Exercise" in page and "訓練" in page
    assert mode(d, "inside") == "normal"
    assert "Exercise" not in d.get("/signage/inside")[2].decode()


def test_cli_export_from_the_daemon_home(d, tmp_path):
    cfg = d.home.parent / f"{d.home.name}.toml"
    out = tmp_path / "export"
    r = subprocess.run([sys.executable, "-m", "lalert", "signage", "export", str(out),
                        "--home", str(d.home), "--config", str(cfg)],
                       cwd=ROOT, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert {p.name for p in out.glob("*.json")} == {"inside.json", "outside.json", "drill.json"}
    assert json.loads((out / "drill.json").read_text())["drill"] is True
    assert (out / "static" / "player.js").is_file() and (out / "sw.js").is_file()


def test_export_is_served_by_nginx(d):
    import importlib.util
    import shutil
    import urllib.request

    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        pytest.skip("nginx not installed")
    spec = importlib.util.spec_from_file_location("bench_serve", ROOT / "bench" / "serve.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    import tempfile

    # nginx workers run unprivileged: every directory above the export must be readable
    work = Path(tempfile.mkdtemp(prefix="lalert-nginx-"))
    work.chmod(0o755)
    out = work / "export"
    subprocess.run([sys.executable, "-m", "lalert", "signage", "export", str(out), "--home",
                    str(d.home), "--config", str(d.home.parent / f"{d.home.name}.toml")],
                   cwd=ROOT, check=True, capture_output=True)
    with bench.nginx(out, work) as base:
        with urllib.request.urlopen(f"{base}/inside.html") as r:
            assert r.status == 200 and "熊本市中心部" in r.read().decode()
            etag = r.headers["ETag"]
        assert bench.status_of(f"{base}/inside.html", {"If-None-Match": etag}) == 304
        with urllib.request.urlopen(f"{base}/inside.json") as r:
            assert json.loads(r.read())["screen"]["id"] == "inside"
    shutil.rmtree(work, ignore_errors=True)
