"""Stale alerts on the desk and the one-click withdraw, against a real ``lalert run``.

A 土砂災害警戒情報 has no lifetime (JMA lifts it explicitly); one whose report time is
older than ``[lifecycle] stale_after`` is listed as stale with a withdraw button. The
withdrawal needs the session and its CSRF token, is journaled with the operator's name
and goes through the pipeline: every output gets it, and a restart keeps it withdrawn.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import AsyncIterator
from urllib.parse import quote

import aiohttp
import pytest

from lalert.server.sessions import hash_password
from tests.conftest import CORPUS, ROOT
from tests.daemon_helpers import LALERT, Daemon, start_daemon
from tests.test_desk import OPERATOR, PASSWORD, csrf_of, operator_session

LANDSLIDE = CORPUS / "xml/jma/17_03_01_190529_VXWW50.xml"  # 岡山県, 2013: one town 警戒


@pytest.fixture
def stale_daemon(tmp_path) -> Daemon:
    config = f"""
[lifecycle]
stale_after = "6h"

[[desk.users]]
name = "{OPERATOR}"
password_hash = "{hash_password(PASSWORD)}"
"""
    d = start_daemon(tmp_path / "home", config_text=config,
                     outputs=["tests.daemon_helpers:RecordingOutput"])
    yield d
    d.stop()


@pytest.fixture
async def desk(stale_daemon: Daemon) -> AsyncIterator[aiohttp.ClientSession]:
    async with operator_session(stale_daemon) as s:
        yield s


async def test_stale_alert_is_listed_and_withdrawn_through_the_pipeline(stale_daemon, desk):
    d = stale_daemon
    status, receipt = d.post(LANDSLIDE.read_bytes())
    assert status == 202, receipt
    d.wait_applied()
    (alert_id,) = receipt["alerts"]
    assert [f["id"] for f in d.get_json("/api/v1/alerts")[1]["features"]] == [alert_id]

    async with desk.get("/desk/") as r:
        page = await r.text()
    action = f"/desk/alerts/{quote(alert_id)}/withdraw"
    assert 'id="h-stale"' in page and f'action="{action}"' in page
    # without the session's CSRF token nothing happens
    async with desk.post(action, data={"csrf": "forged"}, allow_redirects=False) as r:
        assert r.status == 403
    assert d.get_json("/api/v1/alerts")[1]["features"] != []

    token = await csrf_of(desk, "/desk/")
    async with desk.post(action, data={"csrf": token}, allow_redirects=False) as r:
        assert r.status == 303, await r.text()
        msg_id = re.search(r"/desk/messages/(\d+)", r.headers["Location"]).group(1)
    d.wait_applied()
    assert d.get_json("/api/v1/alerts")[1]["features"] == []
    items = {i["id"]: i for i in d.get_json("/api/v1/history?limit=10")[1]["items"]}
    assert (items[msg_id]["source"], items[msg_id]["sender"]) == ("desk-withdraw", OPERATOR)
    assert items[receipt["id"]]["outcome"] == "cancelled"
    history = d.get_json(f"/api/v1/alerts/{quote(alert_id)}")[1]["history"]
    changes = [(c["kind"], c["reason"]) for h in history for c in h["changes"]]
    assert changes == [("new", "issue"), ("withdrawn", "withdrawn")]
    # the output saw the withdrawal
    d.wait(lambda: "withdrawn" in (d.home / "recorder.log").read_text(), what="the output's withdrawal")
    # a second click finds nothing in force
    async with desk.post(action, data={"csrf": token}, allow_redirects=False) as r:
        assert r.status == 409
    async with desk.get("/desk/") as r:
        assert 'id="h-stale"' not in await r.text()

    d.restart()
    d.wait_applied()
    assert d.get_json("/api/v1/alerts")[1]["features"] == []
    # and a rebuild from the journal alone agrees
    d.stop()
    out = subprocess.run([*LALERT, "replay", "--home", str(d.home), "--json", "--dry-run"],
                         env=d.env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["active"] == []


async def test_a_fresh_warning_is_not_stale(stale_daemon, desk):
    from datetime import UTC, datetime

    from bench.ingest import to_now

    status, _ = stale_daemon.post(to_now(LANDSLIDE.read_bytes(), datetime.now(UTC)))
    assert status == 202
    stale_daemon.wait_applied()
    assert stale_daemon.get_json("/api/v1/alerts")[1]["features"]
    async with desk.get("/desk/") as r:
        assert 'id="h-stale"' not in await r.text()
