"""Time-budgeted fuzzing of ``lalert.parsers.parse`` and of the ingest endpoint.

Seeds are the real messages of the corpus (JMA XML, CAP, Commons; files under 256 kB).
Two targets, each given its share of ``--seconds``:

- ``parse`` — in-process. With atheris installed (``pip install -e .[bench]``) it is
  coverage-guided: libFuzzer mutates the seeds (copied to a temporary directory, never into
  the project) and keeps inputs that reach new code in lalert's parsers. Without atheris,
  or with ``--engine hypothesis``, hypothesis drives structure-aware mutations (byte
  flips, cuts, splices between seeds, injected DTDs / entities / encodings / deep nesting).
- ``ingest`` — a real ``lalert run`` on loopback: the same mutations POSTed with a token
  over one keep-alive connection. The daemon must answer 202 / 400 / 413 with a JSON
  body every time and stay up.

An outcome is "accepted with N alerts" or the reason of a ``ParseError`` with numbers
blanked (so "line 12" and "line 40" are one outcome). Anything else — another exception,
a 5xx, a dropped connection, a dead daemon — is a crash: printed with its input saved
under ``--crash-dir``. Baseline in the same run: parse() of the unmutated seeds.

Usage: ``.venv/bin/python bench/fuzz.py [--seconds 120] [--target both|parse|ingest]
[--engine auto|atheris|hypothesis]``
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import CORPUS  # noqa: E402

NUMBERS = re.compile(r"\d+")
SNIPPETS = [
    b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    b'<!DOCTYPE a [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>',
    b'<!DOCTYPE a [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    b"&x;", b"&#0;", b"&#xD800;", b"<![CDATA[", b"]]>", b"<?xml-stylesheet href='x'?>",
    b'<?xml version="1.0" encoding="Shift_JIS"?>', b'<?xml version="1.0" encoding="EBCDIC"?>',
    b'<?xml version="1.1"?>', b"\xef\xbb\xbf", b"\xff\xfe", b"\x00", b"\x1b",
    b"<a>" * 200, b"</a>", b'xmlns="urn:oasis:names:tc:emergency:cap:1.2"',
    b'xmlns="http://xml.kishou.go.jp/jmaxml1/"', b"<Serial>99999999999999999999</Serial>",
    b"<DateTime>9999-99-99T99:99:99+99:00</DateTime>", b"<polygon>91,181 -91,-181</polygon>",
    b"<circle>32.8,130.7 1e309</circle>", b"<value>NaN</value>", b"\xe7\x86\x8a", b"\x83\x4e",
]


def seeds(limit_bytes: int = 256 * 1024) -> list[tuple[str, bytes]]:
    out = []
    for sub, pats in (("xml/jma", ("*.xml",)), ("xml/cap", ("*.cap", "*.xml", "*.atom")),
                      ("xml/commons", ("*.xml",))):
        for pat in pats:
            for f in sorted((CORPUS / sub).glob(pat)):
                if f.stat().st_size <= limit_bytes:
                    out.append((f.name, f.read_bytes()))
    if not out:
        sys.exit(f"no corpus seeds under {CORPUS} (set LALERT_CORPUS)")
    return out


# --- mutations (the hypothesis engine and the ingest target) ----------------------------


def mutate(rnd: random.Random, data: bytes, other: bytes) -> bytes:
    """1-4 structure-aware edits: what a broken relay, a truncating proxy or an attacker
    does to a message."""
    b = bytearray(data)
    for _ in range(rnd.randint(1, 4)):
        op = rnd.randrange(9)
        n = len(b)
        i = rnd.randrange(n + 1) if n else 0
        if op == 0 and n:  # flip bytes
            for _ in range(rnd.randint(1, 8)):
                b[rnd.randrange(n)] = rnd.randrange(256)
        elif op == 1:  # cut
            del b[i:i + rnd.randint(1, 4096)]
        elif op == 2:  # truncate
            del b[i:]
        elif op == 3 and other:  # splice in part of another message
            j = rnd.randrange(len(other))
            b[i:i] = other[j:j + rnd.randint(1, 4096)]
        elif op == 4:  # hostile snippet
            b[i:i] = rnd.choice(SNIPPETS)
        elif op == 5 and n:  # duplicate a range (repeated elements)
            j = rnd.randrange(n)
            b[i:i] = b[j:j + rnd.randint(1, 2048)] * rnd.randint(1, 20)
        elif op == 6:  # swap an element's text for something odd
            m = list(re.finditer(rb">([^<]{1,64})<", bytes(b)))
            if m:
                g = rnd.choice(m)
                b[g.start(1):g.end(1)] = rnd.choice(
                    [b"", b"-1", b"1e999", b"NaN", b"\xe2\x80\xae", b" " * 300, b"&amp;&lt;",
                     b"99999999999999999999999", b"2024-02-30T25:61:00+09:00", b"\xff"])
        elif op == 7:  # prepend a DOCTYPE / declaration
            b[0:0] = rnd.choice(SNIPPETS[:3] + SNIPPETS[9:14])
        else:  # random bytes
            b[i:i] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 64)))
    return bytes(b)


class Tally:
    def __init__(self, name: str, crash_dir: Path) -> None:
        self.name, self.crash_dir = name, crash_dir
        self.execs = 0
        self.outcomes: Counter[str] = Counter()
        self.crashes: list[tuple[str, str, Path]] = []
        self.started = time.perf_counter()
        self.elapsed = 0.0

    def crash(self, what: str, detail: str, data: bytes) -> None:
        self.crash_dir.mkdir(parents=True, exist_ok=True)
        path = self.crash_dir / f"{self.name}-{hashlib.sha256(data).hexdigest()[:16]}.bin"
        path.write_bytes(data)
        self.crashes.append((what, detail, path))
        print(f"  CRASH {self.name}: {what} (input saved to {path})\n{detail}", flush=True)

    def report(self) -> None:
        self.elapsed = self.elapsed or time.perf_counter() - self.started
        rate = self.execs / self.elapsed if self.elapsed else 0.0
        print(f"{self.name}: {self.execs} executions in {self.elapsed:.1f} s "
              f"({rate:,.0f} exec/s), {len(self.outcomes)} unique outcomes, "
              f"{len(self.crashes)} crashes")
        for o, n in self.outcomes.most_common(8):
            print(f"    {n:7d}  {o[:110]}")


def outcome_of_parse(data: bytes) -> str:
    from lalert.parsers import ParseError, parse

    try:
        alerts = parse(data, source="fuzz")
    except ParseError as exc:
        return "ParseError: " + " ".join(NUMBERS.sub("#", exc.reason).split())[:160]
    for a in alerts:  # what every consumer does next must work too
        a.to_json()
    return f"ok: {alerts[0].format if alerts else '-'} x{min(len(alerts), 3)}"


def baseline(pool: list[tuple[str, bytes]], seconds: float) -> float:
    """parse() of unmutated seeds: exec/s the fuzz rates compare with."""
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        outcome_of_parse(pool[n % len(pool)][1])
        n += 1
    rate = n / (time.perf_counter() - t0)
    print(f"baseline: parse() of {len(pool)} unmutated seeds: {rate:,.0f} exec/s")
    return rate


# --- parse target: hypothesis engine -----------------------------------------------------


def fuzz_parse_hypothesis(pool: list[tuple[str, bytes]], seconds: float, tally: Tally) -> None:
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from hypothesis import strategies as st

    end = time.perf_counter() + seconds

    @settings(max_examples=500, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(a=st.integers(0, len(pool) - 1), b=st.integers(0, len(pool) - 1),
           r=st.randoms(use_true_random=False))
    def one(a: int, b: int, r: random.Random) -> None:
        if time.perf_counter() > end:
            return
        data = mutate(r, pool[a][1], pool[b][1])
        tally.execs += 1
        try:
            tally.outcomes[outcome_of_parse(data)] += 1
        except Exception as exc:  # anything but ParseError is a finding
            tally.outcomes[f"CRASH {type(exc).__name__}"] += 1
            tally.crash(type(exc).__name__, traceback.format_exc(limit=6), data)

    rounds = 0
    while time.perf_counter() < end:
        seed(rounds)(one)()  # a fresh seed per round: new examples, same reproducibility
        rounds += 1
    tally.elapsed = time.perf_counter() - tally.started


# --- parse target: atheris (coverage-guided), in a child process --------------------------


def _atheris_child(seconds: float, stats_path: str, crash_dir: str, corpus_dir: str) -> None:
    import atheris

    with atheris.instrument_imports(include=["lalert"]):
        import importlib
        import pkgutil

        import lalert.parsers as parsers

        # parse() imports each format's module on first use: import them all here so
        # that every one is instrumented for coverage
        for m in pkgutil.iter_modules(parsers.__path__):
            importlib.import_module(f"lalert.parsers.{m.name}")

    tally = Tally("parse/atheris", Path(crash_dir))
    end = time.perf_counter() + seconds

    def finish() -> None:
        tally.elapsed = time.perf_counter() - tally.started
        Path(stats_path).write_text(json.dumps({
            "execs": tally.execs, "elapsed": tally.elapsed, "outcomes": tally.outcomes,
            "crashes": [[w, d, str(p)] for w, d, p in tally.crashes]}))
        os._exit(0)  # libFuzzer would otherwise keep going; our budget decides

    def one(data: bytes) -> None:
        if time.perf_counter() > end:
            finish()
        tally.execs += 1
        try:
            tally.outcomes[outcome_of_parse(data)] += 1
        except Exception as exc:
            tally.outcomes[f"CRASH {type(exc).__name__}"] += 1
            tally.crash(type(exc).__name__, traceback.format_exc(limit=6), data)

    atheris.Setup([sys.argv[0], "-max_len=262144", "-rss_limit_mb=2048", "-print_final_stats=0",
                   corpus_dir], one)
    atheris.Fuzz()


def fuzz_parse_atheris(pool: list[tuple[str, bytes]], seconds: float, tally: Tally) -> None:
    work = Path(tempfile.mkdtemp(prefix="lalert-fuzz-"))
    try:
        corpus_dir = work / "corpus"
        corpus_dir.mkdir()
        for name, data in pool:
            (corpus_dir / name).write_bytes(data)
        stats = work / "stats.json"
        code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); import bench.fuzz as f; "
                f"f._atheris_child({seconds!r}, {str(stats)!r}, {str(tally.crash_dir)!r}, "
                f"{str(corpus_dir)!r})")
        proc = subprocess.run([sys.executable, "-c", code], cwd=str(ROOT),
                              capture_output=True, text=True, timeout=seconds + 120)
        cov = re.findall(r"cov: (\d+) ft: (\d+)", proc.stderr)
        if not stats.exists():
            print(proc.stderr[-3000:])
            tally.crash(f"fuzzer exited {proc.returncode}", proc.stderr[-1500:], b"")
            return
        st = json.loads(stats.read_text())
        tally.execs, tally.elapsed = st["execs"], st["elapsed"]
        tally.outcomes.update(st["outcomes"])
        tally.crashes = [(w, d, Path(p)) for w, d, p in st["crashes"]]
        if cov:
            print(f"  libFuzzer coverage: {cov[-1][0]} edges, {cov[-1][1]} features; "
                  f"corpus grew to {len(list(corpus_dir.iterdir()))} inputs")
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- ingest target -----------------------------------------------------------------------


def fuzz_ingest(pool: list[tuple[str, bytes]], seconds: float, tally: Tally) -> None:
    from tests.daemon_helpers import start_daemon

    home = Path(tempfile.mkdtemp(prefix="lalert-fuzz-home-"))
    d = start_daemon(home / "home", env={"LALERT_INGEST__MAX_MESSAGE_BYTES": "1048576"})
    u = urlsplit(d.url)
    headers = {"Authorization": f"Bearer {d.token}", "Content-Type": "application/xml"}
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    rnd = random.Random(1)
    tally.started = time.perf_counter()
    end = tally.started + seconds
    try:
        while time.perf_counter() < end:
            data = mutate(rnd, rnd.choice(pool)[1], rnd.choice(pool)[1])
            tally.execs += 1
            try:
                conn.request("POST", "/api/v1/messages", data, headers)
                r = conn.getresponse()
                body = r.read()
                doc = json.loads(body)
            except (OSError, http.client.HTTPException, ValueError) as exc:
                conn.close()
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
                tally.outcomes[f"CRASH {type(exc).__name__}"] += 1
                tally.crash(type(exc).__name__, repr(exc), data)
                if d.proc.poll() is not None:
                    tally.crash("daemon died", d.log(), data)
                    break
                continue
            if r.status >= 500 or r.status not in (202, 400, 413):
                tally.outcomes[f"CRASH HTTP {r.status}"] += 1
                tally.crash(f"HTTP {r.status}", body[:500].decode("utf-8", "replace"), data)
                continue
            reason = NUMBERS.sub("#", str(doc.get("reason") or doc.get("outcome")))[:120]
            tally.outcomes[f"{r.status} {reason}"] += 1
        tally.elapsed = time.perf_counter() - tally.started
        alive = d.get("/healthz")[0] == 200
        h = d.health()["journal"]
        print(f"  daemon after the run: healthz {'200' if alive else 'FAILED'}, "
              f"{h['messages']} journaled, {h['applied']} applied, {h['pending']} pending")
        if not alive:
            tally.crash("healthz failed after the run", d.log(), b"")
    finally:
        conn.close()
        d.stop()
        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=120.0, help="total budget")
    ap.add_argument("--target", choices=("both", "parse", "ingest"), default="both")
    ap.add_argument("--engine", choices=("auto", "atheris", "hypothesis"), default="auto")
    ap.add_argument("--crash-dir", type=Path, default=Path(tempfile.gettempdir()) / "lalert-fuzz")
    args = ap.parse_args()

    pool = seeds()
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401
            engine = "atheris"
        except ImportError:
            engine = "hypothesis"
    targets = ["parse", "ingest"] if args.target == "both" else [args.target]
    share = args.seconds / len(targets)
    print(f"lalert fuzz: {len(pool)} corpus seeds, {args.seconds:.0f} s "
          f"({', '.join(targets)}), parse engine {engine}")
    baseline(pool, min(5.0, share / 10))
    tallies = []
    for t in targets:
        tally = Tally(f"{t}/{engine}" if t == "parse" else "ingest/http", args.crash_dir)
        if t == "parse" and engine == "atheris":
            fuzz_parse_atheris(pool, share, tally)
        elif t == "parse":
            fuzz_parse_hypothesis(pool, share, tally)
        else:
            fuzz_ingest(pool, share, tally)
        tally.report()
        tallies.append(tally)
    crashes = sum(len(t.crashes) for t in tallies)
    print("result:", "no crashes" if not crashes else f"{crashes} CRASHES (see above)")
    return 1 if crashes else 0


if __name__ == "__main__":
    raise SystemExit(main())
