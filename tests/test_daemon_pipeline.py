"""Pipeline, configuration and store pieces in-process (what the desk and outputs use)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from lalert.changes import AlertChange
from lalert.config import load_config
from lalert.pipeline import Pipeline
from lalert.store.codec import decode_alerts, encode
from tests.daemon_helpers import cap


class Recorder:
    name = "rec"

    def __init__(self) -> None:
        self.seen: list[AlertChange] = []

    async def start(self, ctx) -> None: ...

    async def handle(self, change: AlertChange) -> None:
        self.seen.append(change)

    def routes(self) -> list:
        return []

    async def stop(self) -> None: ...


def config(tmp_path: Path, **env: str):
    return load_config(None, env={"LALERT_HOME": str(tmp_path / "home"), **env})


def test_config_layers_and_env_overrides(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('port = 9000\n[outputs]\nenabled = ["map"]\n[outputs.webhook]\nurl = "x"\n'
                 '[[ingest.tokens]]\nname = "gw"\ntoken = "t1"\n', "utf-8")
    c = load_config(f, env={"LALERT_PORT": "9100", "LALERT_OUTPUTS__ENABLED": "map,signage",
                            "LALERT_OUTPUTS__WEBHOOK__URL": "http://127.0.0.1:1/h",
                            "LALERT_INGEST_TOKEN": "t2", "LALERT_SPOOL__ENABLED": "false"},
                    overrides={"host": "::1"})
    assert (c.port, c.host, c.outputs) == (9100, "::1", ["map", "signage"])
    assert c.output_config("webhook") == {"url": "http://127.0.0.1:1/h"}
    assert [(t.name, t.token) for t in c.ingest_tokens] == [("gw", "t1"), ("env", "t2")]
    assert c.spool_enabled is False and c.public_url == "http://[::1]:9100"
    assert c.max_message_bytes == 10 * 1024 * 1024
    d = load_config(None, env={})
    assert d.home.name == "lalert-home" and (d.host, d.port) == ("127.0.0.1", 8080)
    assert any("extra_l.xml" in fc.url and fc.long for fc in d.feeds)
    with pytest.raises(ValueError, match="only"):
        _ = load_config(None, env={"LALERT_STORE": "postgresql://x"}).store_dir


def test_codec_round_trip_and_fallback():
    from lalert.parsers import parse

    alerts = parse(cap("codec-1"))
    assert decode_alerts(encode(alerts)) == alerts
    assert decode_alerts(b"lalert-pickle/1\ngarbage") is None  # caller re-parses
    assert decode_alerts('[' + alerts[0].to_json() + ']') == alerts  # older JSON form


async def test_drills_reach_only_outputs_that_take_them(tmp_path):
    p = Pipeline(config(tmp_path))
    rec = Recorder()
    await p.start()
    p.bus.add(rec, drills=False, cursor=0)
    await p.bus.start(p.redeliver)
    p.run()
    try:
        r = await p.submit(cap("d-1"), source="desk", sender="operator")
        assert r.outcome == "accepted"
        drill = await p.submit(cap("d-x", status="Exercise"), source="desk", sender="operator")
        while p.applied_upto < drill.id:
            await asyncio.sleep(0.01)
        await p.bus.drain()
        assert [c.alert.id for c in rec.seen] == ["d-1"]  # the drill never reached it
    finally:
        await p.bus.stop()
        await p.stop()


async def test_restart_rebuilds_view_from_journal(tmp_path):
    cfg = config(tmp_path)
    p = Pipeline(cfg)
    await p.start()
    p.run()
    await p.submit(cap("r-1"), source="http", sender="t")
    await p.submit(cap("r-2", sent="2026-07-03T17:10:00+09:00", msg_type="Update",
                       references="test@lalert.example,r-1,2026-07-03T17:00:00+09:00"),
                   source="http", sender="t")
    while p.applied_upto < 2:
        await asyncio.sleep(0.01)
    version = [e.id for e in p.view.active()]
    seq = p.bus.last_seq
    await p.stop()
    q = Pipeline(cfg)
    await q.start()
    try:
        assert [e.id for e in q.view.active()] == version == ["r-2"]
        assert q.bus.last_seq == seq  # numbering continues
        assert q.lifecycle.fate("r-1") == "superseded"
    finally:
        await q.stop()


@pytest.mark.parametrize("workers", ["0", "1"])
async def test_parse_pool_keeps_receipts_and_reasons(tmp_path, workers):
    """Parsing in worker processes (``[ingest] parse_workers``) answers like parsing
    inline: the parser's own reason for bad bytes, and copies of the same bytes sent at
    once are one acceptance and duplicates of it, never two acceptances."""
    from lalert.parsers import ParseError, parse

    p = Pipeline(config(tmp_path, LALERT_INGEST__PARSE_WORKERS=workers))
    await p.start()
    p.run()
    try:
        bad = b"<alert><unclosed></alert>"
        with pytest.raises(ParseError) as inline:
            parse(bad, source="t", max_bytes=p.config.max_message_bytes)
        r = await p.submit(bad, source="http", sender="t")
        assert r.outcome == "rejected"
        assert r.reason == inline.value.reason + (
            f" (line {inline.value.line})" if inline.value.line else "")
        same = cap("pool-1")
        got = await asyncio.gather(*(p.submit(same, source="http", sender="t")
                                     for _ in range(5)))
        assert sorted(g.outcome for g in got) == ["accepted"] + ["duplicate"] * 4
        first = next(g for g in got if g.outcome == "accepted")
        assert {g.duplicate_of for g in got if g.outcome == "duplicate"} == {first.id}
        while p.applied_upto < max(g.id for g in got):
            await asyncio.sleep(0.01)
        assert [e.id for e in p.view.active()] == ["pool-1"]
        assert decode_alerts(p.reader.alerts_row(first.id)["alerts"])[0].id == "pool-1"
    finally:
        await p.stop()


class BatchRecorder(Recorder):
    name = "batch"

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []

    async def handle_batch(self, changes: list[AlertChange]) -> None:
        self.calls.append(len(changes))
        self.seen.extend(changes)


async def test_memory_bus_hands_queued_changes_to_handle_batch(tmp_path):
    """An output with ``handle_batch`` (SSE: one log transaction per batch) gets what
    queued meanwhile in one call, in seq order, drills left out, each change once."""
    p = Pipeline(config(tmp_path))
    rec = BatchRecorder()
    await p.start()
    p.bus.add(rec, drills=False, cursor=0)
    await p.bus.start(p.redeliver)
    p.run()
    try:
        ids = [f"b-{i}" for i in range(30)]
        await asyncio.gather(*(p.submit(cap(aid, status="Exercise" if i % 10 == 3 else "Actual"),
                                        source="http", sender="t") for i, aid in enumerate(ids)))
        while p.applied_upto < len(ids):
            await asyncio.sleep(0.01)
        await p.bus.drain()
        seqs = [c.seq for c in rec.seen]
        assert seqs == sorted(set(seqs))
        assert sorted(c.alert.id for c in rec.seen) == sorted(
            a for i, a in enumerate(ids) if i % 10 != 3)
        assert max(rec.calls) > 1  # the burst came in batches
        assert p.bus.backlog()["batch"] == 0
    finally:
        await p.bus.stop()
        await p.stop()


def _parse_workers() -> list[int]:
    """This process's parse workers (children started by multiprocessing's spawn)."""
    out = []
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit():
                continue
            stat = (proc / "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            if ppid == os.getpid() and b"spawn_main" in (proc / "cmdline").read_bytes():
                out.append(int(proc.name))
        except (OSError, ValueError):
            continue
    return out


async def test_parse_pool_survives_a_killed_worker(tmp_path, caplog):
    """A parse worker killed mid-burst (out of memory, an operator's kill -9) costs no
    message: what it held is parsed by the daemon itself and the pool starts again."""
    p = Pipeline(config(tmp_path, LALERT_INGEST__PARSE_WORKERS="1"))
    await p.start()
    p.run()
    try:
        assert (await p.submit(cap("k-0"), source="http", sender="t")).outcome == "accepted"
        workers = _parse_workers()
        assert workers
        sends = [p.submit(cap(f"k-{i}"), source="http", sender="t") for i in range(1, 20)]
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        got = await asyncio.gather(*sends)
        assert [g.outcome for g in got] == ["accepted"] * 19
        assert (await p.submit(cap("k-20"), source="http", sender="t")).outcome == "accepted"
        assert set(_parse_workers()) - set(workers)  # a new worker parses again
        assert "parse worker died" in caplog.text  # an alarm, not silence
    finally:
        await p.stop()
