"""kill -9 in the middle of a burst, restart on the same home: nothing acknowledged is
lost, the active set equals a clean replay of the journal, no output acts twice."""

from __future__ import annotations

import json
import random
import subprocess
import threading
from collections import Counter

from tests.daemon_helpers import LALERT, ROOT, Daemon, cap, start_daemon

RECORDER = "tests.daemon_helpers:RecordingOutput"
EVENTS = 120
CLIENTS = 8


def burst_messages() -> list[tuple[str, bytes]]:
    """Per event: issue, update, and for every third event a cancel; shuffled."""
    msgs = []
    for e in range(EVENTS):
        base = f"crash-{e}"
        msgs.append((f"{base}-a", cap(f"{base}-a", sent="2026-07-03T17:00:00+09:00")))
        ref = f"test@lalert.example,{base}-a,2026-07-03T17:00:00+09:00"
        msgs.append((f"{base}-b", cap(f"{base}-b", sent="2026-07-03T17:10:00+09:00",
                                      msg_type="Update", references=ref)))
        if e % 3 == 0:
            msgs.append((f"{base}-c", cap(f"{base}-c", sent="2026-07-03T17:20:00+09:00",
                                          msg_type="Cancel", references=ref)))
        if e % 10 == 0:
            msgs.append((f"{base}-x", cap(f"{base}-x", status="Exercise")))
    random.Random(4).shuffle(msgs)
    return msgs


def send_burst(d: Daemon, msgs: list[tuple[str, bytes]], kill_after: int):
    acked: list[tuple[str, str]] = []  # (message id, alert id) that got a 202
    lock = threading.Lock()
    queue = list(msgs)
    killed = threading.Event()

    def client() -> None:
        while True:
            with lock:
                if not queue:
                    return
                alert_id, data = queue.pop()
            try:
                status, body = d.post(data)
            except OSError:
                continue  # the daemon is gone: this one was never acknowledged
            if status == 202:
                with lock:
                    acked.append((body["id"], alert_id))
                    if len(acked) >= kill_after and not killed.is_set():
                        killed.set()
                        d.kill()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return acked, killed.is_set()


def replay_active(d: Daemon, *, write: bool = False) -> list[str]:
    cmd = [*LALERT, "replay", "--home", str(d.home), "--json"] + ([] if write else ["--dry-run"])
    out = subprocess.run(cmd, env=d.env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["active"]


def api_active(d: Daemon) -> list[str]:
    d.wait_applied()
    return sorted(f["id"] for f in d.get_json("/api/v1/alerts")[1]["features"])


def test_kill_9_mid_burst_loses_nothing_and_repeats_nothing(tmp_path):
    msgs = burst_messages()
    d = start_daemon(tmp_path / "home", outputs=[RECORDER])
    try:
        acked, killed = send_burst(d, msgs, kill_after=len(msgs) // 2)
        assert killed and d.proc.returncode == -9
        assert len(acked) >= len(msgs) // 2

        d.start()  # same home
        d.wait_applied()
        # 1. every message that got a 202 is in the history, as what was sent
        for msg_id, alert_id in acked:
            status, item = d.get_json(f"/api/v1/messages/{msg_id}")
            assert status == 200 and [a["id"] for a in item["alerts"]] == [alert_id]
        history_ids = set()
        url = "/api/v1/history?limit=500"
        while url:
            page = d.get_json(url)[1]
            history_ids |= {i["id"] for i in page["items"]}
            url = page["next"]
        assert {m for m, _ in acked} <= history_ids

        # 2. the active set equals a clean replay of the journal
        live = api_active(d)
        assert live and live == replay_active(d)
        assert not any(a.endswith("-x") for a in live)  # drills stay out

        # 3. the output resumed where it stopped and acted once per change
        last_seq = d.health()["seq"]
        d.wait(lambda: d.health()["outputs"]["recorder"]["backlog"] == 0, what="recorder")
        d.stop()
        lines = (d.home / "recorder.log").read_text().split("\n")
        seqs = [int(line.split()[0]) for line in lines if line]
        dupes = [s for s, n in Counter(seqs).items() if n > 1]
        assert not dupes, f"changes handled twice: {dupes}"
        assert set(seqs) == set(range(1, last_seq + 1)) - drill_seqs(d)

        # 4. a full `lalert replay` rebuilds the same state, and outputs do not act again
        assert replay_active(d, write=True) == live
        d.start()
        assert api_active(d) == live
        d.stop()
        assert (d.home / "recorder.log").read_text().split("\n") == lines
    finally:
        d.stop()


def drill_seqs(d: Daemon) -> set[int]:
    import sqlite3

    conn = sqlite3.connect(f"file:{d.home / 'state.sqlite'}?mode=ro", uri=True)
    try:
        return {r[0] for r in conn.execute("SELECT seq FROM changes WHERE drill=1")}
    finally:
        conn.close()
