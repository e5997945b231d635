"""Parse throughput: lalert vs the jmaxml SDK (JMA), capparselib (CAP) and bare lxml.

Two views, side by side in one run:

1. **Whole process** (what a user of ``lalert parse --json`` waits for): the JMA corpus
   repeated ``--copies`` times (default 10: 2,210 messages) through one process each of
   ``lalert parse --json`` (interpreter start, imports, parse, JSON out), the jmaxml SDK
   (``jmaxml.parse(text).to_json()`` per message, lines out) and bare lxml (``fromstring``
   and a walk reading every element's tag and text). ``--baseline DIR`` adds the same
   ``lalert parse --json`` run from another checkout (e.g. ``git worktree add /tmp/main
   main``) as a column of its own. Commands alternate round by round; medians of
   ``--runs`` rounds. Targets: lalert >= 1.5x jmaxml and >= 60 % of bare lxml.
2. **In process**: messages/s for each over the same bytes (median of ``--rounds``), and
   CAP: lalert vs capparselib (target >= 3x).

Peers are optional (``pip install -e .[bench]`` and ``pip install --no-deps
capparselib``); a missing peer is reported, not faked. The machine's load average is
printed with the figures: on a shared machine compare only columns of the same run.

    python bench/parse.py [--runs 5] [--copies 10] [--rounds 5] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lalert.parsers import ParseError, parse  # noqa: E402
from tests.conftest import CORPUS  # noqa: E402  (LALERT_CORPUS)

# Peer programs for the whole-process view: argv[1] = copies, argv[2:] = files.
JMAXML_PROGRAM = """
import sys, jmaxml
texts = [open(f, encoding="utf-8").read() for f in sys.argv[2:]]
out = sys.stdout
for _ in range(int(sys.argv[1])):
    for t in texts:
        out.write(jmaxml.parse(t).to_json() + "\\n")
"""
LXML_PROGRAM = """
import sys
from lxml import etree
docs = [open(f, "rb").read() for f in sys.argv[2:]]
n = 0
for _ in range(int(sys.argv[1])):
    for d in docs:
        for el in etree.fromstring(d).iter():
            el.tag, el.text
            n += 1
print(n)
"""


def walk(root: etree._Element) -> int:
    """Bare lxml's share of a parser's work: touch every element's tag and text."""
    n = 0
    for el in root.iter():
        el.tag, el.text  # noqa: B018 (the read is the work measured)
        n += 1
    return n


def rate(fn: Callable[[bytes], object], docs: list[bytes], rounds: int) -> float:
    """Median messages per second over ``rounds`` passes (after one warm-up pass)."""
    for d in docs:
        fn(d)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for d in docs:
            fn(d)
        times.append(time.perf_counter() - t0)
    return len(docs) / statistics.median(times)


def lalert_parse(d: bytes) -> object:
    try:
        return parse(d)
    except ParseError:
        return None


def lalert_parse_json(d: bytes) -> object:
    try:
        return [a.to_json() for a in parse(d)]
    except ParseError:
        return None


def timed(argv: list[str], env: dict[str, str] | None = None,
          cwd: Path = ROOT) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one child process. CPU time (user + system, from
    the kernel's accounting of the finished child) barely moves with the machine's load,
    where wall time on a shared machine can double: the ratios are given for both."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, cwd=cwd,
                   env={**os.environ, **(env or {})})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def whole_process(jma_dir: Path, files: list[Path], copies: int, runs: int,
                  baseline: Path | None) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds per command; the commands alternate within each round."""
    py = sys.executable
    dirs = [str(jma_dir)] * copies
    # ``-m`` puts the working directory first on sys.path: each tree runs from its own
    cmds: dict[str, tuple[list[str], dict[str, str] | None, Path]] = {
        "lalert parse --json": ([py, "-m", "lalert", "parse", "--json", *dirs],
                                {"PYTHONPATH": str(ROOT)}, ROOT),
    }
    if baseline is not None:
        cmds["baseline lalert parse --json"] = (
            [py, "-m", "lalert", "parse", "--json", *dirs], {"PYTHONPATH": str(baseline)},
            baseline)
    try:
        import jmaxml  # noqa: F401

        cmds["jmaxml parse + to_json"] = ([py, "-c", JMAXML_PROGRAM, str(copies),
                                           *map(str, files)], None, ROOT)
    except ImportError:
        print("jmaxml not installed: whole-process peer column left out")
    cmds["bare lxml parse + walk"] = ([py, "-c", LXML_PROGRAM, str(copies), *map(str, files)],
                                      None, ROOT)
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in cmds}
    for _ in range(runs):
        for name, (argv, env, cwd) in cmds.items():
            times[name].append(timed(argv, env, cwd))
    return {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
            for k, v in times.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5, help="in-process passes (median)")
    ap.add_argument("--runs", type=int, default=3, help="whole-process rounds (median)")
    ap.add_argument("--copies", type=int, default=10, help="corpus repeats per process")
    ap.add_argument("--baseline", type=Path, help="another lalert checkout to run beside")
    ap.add_argument("--skip-process", action="store_true", help="in-process figures only")
    ap.add_argument("--skip-in-process", action="store_true", help="whole-process figures only")
    args = ap.parse_args()
    jma_files = sorted((CORPUS / "xml/jma").glob("*.xml"))
    jma = [p.read_bytes() for p in jma_files]
    cap_files = [
        p for p in sorted((CORPUS / "xml/cap").glob("*.cap"))
        if "invalid" not in p.name and "errors" not in p.name and "signed" not in p.name
    ]
    cap = [p.read_bytes() for p in cap_files]
    if not jma:
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 1
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")

    if not args.skip_process:
        n = len(jma) * args.copies
        print(f"\n== whole process: {len(jma)} JMA files x{args.copies} = {n} messages, "
              f"median of {args.runs} alternating rounds")
        secs = whole_process(CORPUS / "xml/jma", jma_files, args.copies, args.runs,
                             args.baseline)
        print(f"  {'':30} {'wall':>8} {'CPU':>8}  (CPU msg/s)")
        for name, (wall, cpu) in secs.items():
            print(f"  {name:30} {wall:7.2f}s {cpu:7.2f}s  {n / cpu:8.0f}")
        for i, label in ((0, "wall"), (1, "CPU")):
            ours = secs["lalert parse --json"][i]
            peer = secs.get("jmaxml parse + to_json")
            print(f"  [{label}] lalert vs jmaxml: "
                  f"{(peer[i] / ours) if peer else float('nan'):5.2f}x (target >= 1.5); "
                  f"vs bare lxml: {secs['bare lxml parse + walk'][i] / ours:5.2f} "
                  "(target >= 0.60)"
                  + (f"; vs baseline: {secs['baseline lalert parse --json'][i] / ours:5.2f}x"
                     if "baseline lalert parse --json" in secs else ""))

    if args.skip_in_process:
        return 0
    print(f"\n== in process: {len(jma)} JMA files, {len(cap)} CAP files; "
          f"median of {args.rounds} rounds")
    rows: list[tuple[str, str, float]] = []
    r_lalert = rate(lalert_parse, jma, args.rounds)
    r_lalert_json = rate(lalert_parse_json, jma, args.rounds)
    r_lxml = rate(etree.fromstring, jma, args.rounds)
    r_walk = rate(lambda d: walk(etree.fromstring(d)), jma, args.rounds)
    rows += [("JMA", "lalert parse", r_lalert), ("JMA", "lalert parse + to_json", r_lalert_json),
             ("JMA", "bare lxml.fromstring", r_lxml), ("JMA", "bare lxml parse + walk", r_walk)]
    t_rate = t_json = None
    try:
        import jmaxml

        texts = [d.decode("utf-8") for d in jma]
        t_rate = rate(lambda t: jmaxml.parse(t), texts, args.rounds)  # type: ignore[arg-type]
        t_json = rate(lambda t: jmaxml.parse(t).to_json(), texts, args.rounds)  # type: ignore[arg-type]
        rows += [("JMA", "jmaxml 1.0.0 parse", t_rate), ("JMA", "jmaxml parse + to_json", t_json)]
    except ImportError:
        rows.append(("JMA", "jmaxml (not installed)", float("nan")))

    c_lalert = rate(lalert_parse, cap, args.rounds)
    rows.append(("CAP", "lalert", c_lalert))
    rows.append(("CAP", "bare lxml.fromstring", rate(etree.fromstring, cap, args.rounds)))
    try:
        from capparselib.parsers import CAPParser

        def cpl(d: bytes) -> object:
            try:
                return CAPParser(d.decode("utf-8")).as_dict()
            except Exception:  # the peer rejects some valid files; count the attempt
                return None

        c_peer = rate(cpl, cap, args.rounds)
        rows.append(("CAP", "capparselib", c_peer))
    except ImportError:
        c_peer = None
        rows.append(("CAP", "capparselib (not installed)", float("nan")))

    for fmt, who, r in rows:
        print(f"  {fmt:4} {who:28} {r:10.0f} msg/s")
    print()
    print(f"  JMA lalert / bare lxml.fromstring : {r_lalert / r_lxml:6.2f}")
    print(f"  JMA lalert / bare lxml parse+walk : {r_lalert / r_walk:6.2f}  (target >= 0.60)")
    if t_rate and t_json:
        print(f"  JMA lalert / jmaxml (parse)       : {r_lalert / t_rate:6.2f}  (target >= 1.5)")
        print(f"  JMA lalert / jmaxml (+ to_json)   : {r_lalert_json / t_json:6.2f}")
    if c_peer:
        print(f"  CAP lalert / capparselib          : {c_lalert / c_peer:6.2f}  (target >= 3)")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
