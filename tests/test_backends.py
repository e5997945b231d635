"""The daemon's core promises on both backends: ``sqlite`` (SQLite store, in-memory bus)
and ``postgis+redis`` (PostGIS store, Redis Streams bus), through a real ``lalert run``.

Ingest answers 202 only after the journal commit; the lifecycle over HTTP; history;
kill -9 mid-burst and restart equals a clean replay and no output acts twice; push
matching (in PostGIS with that store). Worker processes: ``tests/test_workers.py``.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter

import pytest

from tests.backends import Backend, backend, pg_server, redis_server  # noqa: F401 (fixtures)
from tests.daemon_helpers import LALERT, ROOT, Daemon, cap, start_daemon
from tests.test_daemon_crash import burst_messages, send_burst

RECORDER = "tests.daemon_helpers:RecordingOutput"


def active_ids(d: Daemon, query: str = "") -> list[str]:
    d.wait_applied()
    return sorted(f["id"] for f in d.get_json(f"/api/v1/alerts{query}")[1]["features"])


def test_ingest_202_after_commit_lifecycle_and_history(backend: Backend, tmp_path):
    with start_daemon(tmp_path / "home", env=backend.env) as d:
        status, body = d.post(cap("b-1", sent="2026-07-03T17:00:00+09:00"))
        assert status == 202 and body["outcome"] == "accepted"
        # the 202 came after the commit: the message is in the journal right away
        status, row = d.get_json(f"/api/v1/messages/{body['id']}")
        assert status == 200 and row["sha256"]
        ref = "test@lalert.example,b-1,2026-07-03T17:00:00+09:00"
        assert d.post(cap("b-2", sent="2026-07-03T17:10:00+09:00", msg_type="Update",
                          references=ref))[0] == 202
        assert active_ids(d) == ["b-2"]
        assert d.post(cap("b-3", sent="2026-07-03T17:20:00+09:00", msg_type="Cancel",
                          references=ref))[0] == 202
        assert d.post(cap("b-x", status="Exercise"))[0] == 202
        assert active_ids(d) == [] and active_ids(d, "?drills=true") == ["b-x"]
        status, dup = d.post(cap("b-1", sent="2026-07-03T17:00:00+09:00"))
        assert dup["outcome"] == "duplicate"
        assert d.post(b"<not-an-alert/>")[0] == 400
        d.wait_applied()
        hist = d.get_json("/api/v1/history?limit=50")[1]
        items = hist.get("items", hist.get("messages", []))
        outcomes = Counter(i["outcome"] for i in items)
        assert outcomes["duplicate"] == 1 and outcomes["rejected"] == 1
        assert {"cancelled", "superseded"} & set(outcomes)
        h = d.health()
        assert h["journal"]["messages"] == 6 and h["journal"]["applied"] == 6
        # a clean restart rebuilds the same state from the store
        d.restart()
        assert active_ids(d) == [] and active_ids(d, "?drills=true") == ["b-x"]


def test_kill_9_mid_burst_restart_equals_clean_replay(backend: Backend, tmp_path):
    msgs = burst_messages()[:240]
    d = start_daemon(tmp_path / "home", env=backend.env, outputs=[RECORDER])
    try:
        acked, killed = send_burst(d, msgs, kill_after=len(msgs) // 2)
        assert killed
        d.start()
        rest = [m for m in msgs if m[0] not in {a for _, a in acked}]
        acked2, _ = send_burst(d, rest, kill_after=10**9)
        d.wait_applied()
        # nothing acknowledged is lost
        got = {r["id"] for r in _history(d)}
        assert {i for i, _ in acked + acked2} <= got
        out = subprocess.run([*LALERT, "replay", "--home", str(d.home), "--json", "--dry-run"],
                             env=d.env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert active_ids(d) == json.loads(out.stdout)["active"]
        d.wait(lambda: _recorded(d) and max(_recorded(d)) >= d.health()["seq"]
               - _drill_tail(d), 30, "the recorder to catch up")
        seqs = _recorded(d)
        assert len(seqs) == len(set(seqs)), "an output acted twice on one change"
    finally:
        d.stop()


def _history(d: Daemon) -> list[dict]:
    out, before = [], ""
    while True:
        page = d.get_json(f"/api/v1/history?limit=200{before}")[1]
        items = page.get("items", page.get("messages", []))
        out += items
        nxt = page.get("next")
        if not items or not nxt:
            return out
        before = "&before=" + (nxt.split("before=")[1].split("&")[0] if "before=" in nxt
                               else items[-1]["id"])


def _recorded(d: Daemon) -> list[int]:
    p = d.home / "recorder.log"
    return [int(x.split()[0]) for x in p.read_text().splitlines()] if p.exists() else []


def _drill_tail(d: Daemon) -> int:
    return 0 if d.health()["outputs"].get("recorder", {}).get("backlog", 0) == 0 else 10**9


@pytest.mark.parametrize("n_subs", [3])
def test_push_matching(backend: Backend, tmp_path, n_subs):
    """Webhook subscriptions by point+radius, polygon and area code; only the ones the
    footprint reaches get a delivery row (with PostGIS the match runs in the database)."""
    from tests.test_backends_push import run_push_matching

    run_push_matching(backend, tmp_path)
