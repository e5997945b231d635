"""``lalert worker``: stateless processes per role sharing PostGIS and Redis Streams.

Two ingest workers, an enrich leader with a standby, two push workers (the recording test
output runs in the push role): every acknowledged message is applied once, every change
reaches the output exactly once across the push workers, the push workers' views follow
the applier's, and the standby takes over after a kill -9 of the leader. Plus the bus's
own guarantees: acknowledgement after the work, and entries of a dead consumer claimed
back by a live one.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.backends import pg_server, redis_server  # noqa: F401 (fixtures)
from tests.daemon_helpers import LALERT, ROOT, Daemon, cap

RECORDER = "tests.daemon_helpers:RecordingOutput"


class Worker(Daemon):
    """A ``lalert worker --role R`` process (``Daemon``'s HTTP helpers, another command)."""

    role: str = ""

    def start(self, timeout: float = 60.0) -> Worker:
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_path = self.home / f"worker-{self.role}-{id(self)}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            [*LALERT, "worker", "--role", self.role, "--home", str(self.home),
             "--host", "127.0.0.1", "--port", "0", *self.args],
            stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=str(ROOT))
        log.close()
        return self

    def ready(self, timeout: float = 60.0) -> Worker:
        from tests.daemon_helpers import URL_LINE

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited {self.proc.returncode}:\n{self.log()}")
            m = URL_LINE.search(self.log_path.read_text("utf-8", "replace"))
            if m:
                self.url = m.group(1)
                if self._healthy():
                    return self
            time.sleep(0.05)
        raise RuntimeError(f"worker {self.role} did not come up:\n{self.log()}")


@pytest.fixture
def shared(pg_server, redis_server, tmp_path):  # noqa: F811
    """Environment of one deployment: its own database and stream."""
    import secrets

    env = {"LALERT_STORE": pg_server.new_database(),
           "LALERT_BUS": redis_server.url(stream=f"w-{secrets.token_hex(4)}", claim_idle=1),
           "LALERT_OUTPUTS__ENABLED": json.dumps([RECORDER])}
    made: list[Worker] = []

    def worker(role: str, home: str) -> Worker:
        base = _env(env)
        w = Worker(home=tmp_path / home, token=base["LALERT_INGEST_TOKEN"], env=base, args=[])
        w.role = role
        made.append(w)
        return w.start()

    yield env, worker
    for w in made:
        w.kill()


_TOKEN = "worker-test-token"


def _env(extra: dict[str, str]) -> dict[str, str]:
    import os

    e = {k: v for k, v in os.environ.items() if not k.startswith("LALERT_")}
    e.update({"LALERT_INGEST_TOKEN": _TOKEN, "LALERT_POLLER__ENABLED": "false",
              "LALERT_LIFECYCLE__EXPIRY_INTERVAL": "0.5", "PYTHONUNBUFFERED": "1",
              "PYTHONPATH": str(ROOT)}, **extra)
    return e


def test_workers_share_the_work_and_the_standby_takes_over(shared, tmp_path):
    env, worker = shared
    leader = worker("enrich", "enrich1")
    ingests = [worker("ingest", "ingest1"), worker("ingest", "ingest2")]
    pushes = [worker("push", "push"), worker("push", "push")]
    for w in [leader, *ingests, *pushes]:
        w.ready()
    standby = worker("enrich", "enrich2")  # waits for the leader's lock: no port yet
    msgs = [cap(f"w-{i}", sent="2026-07-03T17:00:00+09:00") for i in range(20)]
    msgs += [cap(f"w-{i}-c", sent="2026-07-03T17:20:00+09:00", msg_type="Cancel",
                 references=f"test@lalert.example,w-{i},2026-07-03T17:00:00+09:00")
             for i in range(0, 20, 4)]
    msgs.append(cap("w-x", status="Exercise"))
    for i, m in enumerate(msgs):
        status, body = ingests[i % 2].post(m)
        assert status == 202 and body["outcome"] == "accepted", body
    leader.wait_applied(len(msgs))
    expected = sorted(f"w-{i}" for i in range(20) if i % 4)
    assert _active(leader) == expected
    for p in pushes:  # output workers' views follow the applier through the bus
        p.wait(lambda p=p: _active(p) == expected, 30, "the push worker's view")
    # every public change reached the output once, split between the two push workers
    public = 20 + 5
    rec = pushes[0].home / "recorder.log"
    leader.wait(lambda: len(_lines(rec)) >= public, 30, "the recorder")
    time.sleep(0.5)
    seqs = [int(x.split()[0]) for x in _lines(rec)]
    assert len(seqs) == public and len(set(seqs)) == public
    # kill -9 the leader: the standby takes over and applies what comes next
    leader.kill()
    standby.ready()
    status, _ = ingests[0].post(cap("w-after", sent="2026-07-03T18:00:00+09:00"))
    assert status == 202
    standby.wait(lambda: "w-after" in _active(standby), 30, "the standby to apply")
    assert _active(standby) == sorted([*expected, "w-after"])
    leader.wait(lambda: len(_lines(rec)) >= public + 1, 30, "the recorder after takeover")
    seqs = [int(x.split()[0]) for x in _lines(rec)]
    assert len(seqs) == len(set(seqs)) == public + 1
    for w in [*ingests, *pushes, standby]:
        h = w.health()
        assert h["status"] == "ok"
        assert w.get("/metrics")[0] == 200


def test_worker_refuses_the_in_memory_bus(tmp_path):
    out = subprocess.run([*LALERT, "worker", "--role", "push", "--home", str(tmp_path)],
                         env=_env({}), cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "redis://" in out.stderr


def _active(d: Daemon) -> list[str]:
    return sorted(f["id"] for f in d.get_json("/api/v1/alerts")[1]["features"])


def _lines(p: Path) -> list[str]:
    return p.read_text().splitlines() if p.exists() else []


# --- the bus alone ----------------------------------------------------------------------


class _Out:
    name = "probe"

    def __init__(self, block: bool = False) -> None:
        self.block, self.seen = block, []

    async def handle(self, change) -> None:
        if self.block:
            await asyncio.Event().wait()  # dies mid-work: never returns, never acks
        self.seen.append(change.seq)


async def test_redis_bus_acks_after_work_and_claims_from_dead_consumers(redis_server):  # noqa: F811
    from lalert.bus.redis import RedisBus
    from lalert.changes import AlertChange
    from lalert.model import Alert, EnrichedAlert

    url = redis_server.url(stream="claim-test", claim_idle=0.4)
    alert = Alert(format="cap", id="c-1", event_id="c-1", serial=1, info_type="issue",
                  status="actual", kind="other", title="t", headline="h",
                  issued_at="2026-07-03T17:00:00+09:00", publisher="p", raw_sha256="0")
    change = AlertChange(seq=1, kind="new", reason="issue", alert=EnrichedAlert(alert=alert))

    async def nothing(after: int) -> list:
        return []

    pub = RedisBus.from_url(url)
    dead_out, live_out = _Out(block=True), _Out()
    dead = RedisBus.from_url(url)
    dead.publisher = False
    dead.add(dead_out, drills=False, cursor=0)
    await pub.start(nothing)
    await dead.start(nothing)
    pub.publish(change, '["k"]')
    r = dead._r
    assert r is not None
    async with asyncio.timeout(10):  # the dead consumer took it and never acknowledged
        while not (await r.xpending("claim-test", "out:probe"))["pending"]:
            await asyncio.sleep(0.02)
    for t in [dead._subs["probe"].task]:
        t.cancel()
    live = RedisBus.from_url(url)
    live.publisher = False
    live.add(live_out, drills=False, cursor=0)
    await live.start(nothing)
    async with asyncio.timeout(10):
        while live_out.seen != [1]:
            await asyncio.sleep(0.05)
    assert (await r.xpending("claim-test", "out:probe"))["pending"] == 0  # acknowledged
    assert live._subs["probe"].claimed == 1
    for b in (live, dead, pub):
        await b.stop()
