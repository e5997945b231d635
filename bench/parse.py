"""Parse throughput: lalert vs the jmaxml SDK (JMA), capparselib (CAP) and bare lxml.

Prints messages/s for each over the same bytes in one run (median of several rounds)
and the ratios the core issue targets: JMA >= 1.5x jmaxml and >= 60 % of bare lxml;
CAP >= 3x capparselib. Peers are optional (``pip install -e .[bench]`` and
``pip install --no-deps capparselib``); a missing peer is reported, not faked.

    python bench/parse.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lalert.parsers import ParseError, parse  # noqa: E402

CORPUS = Path(os.environ.get("LALERT_CORPUS", ROOT.parent / "shared" / "corpus"))


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


def bare_lxml(d: bytes) -> object:
    return etree.fromstring(d)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    jma = [p.read_bytes() for p in sorted((CORPUS / "xml/jma").glob("*.xml"))]
    cap_files = [
        p for p in sorted((CORPUS / "xml/cap").glob("*.cap"))
        if "invalid" not in p.name and "errors" not in p.name and "signed" not in p.name
    ]
    cap = [p.read_bytes() for p in cap_files]
    if not jma:
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 1
    print(f"corpus: {len(jma)} JMA files, {len(cap)} CAP files; median of {args.rounds} rounds\n")

    rows: list[tuple[str, str, float]] = []
    r_lalert = rate(lalert_parse, jma, args.rounds)
    r_lxml = rate(bare_lxml, jma, args.rounds)
    rows += [("JMA", "lalert", r_lalert), ("JMA", "bare lxml.fromstring", r_lxml)]
    try:
        import jmaxml

        texts = [d.decode("utf-8") for d in jma]
        t_rate = rate(lambda t: jmaxml.parse(t), texts, args.rounds)  # type: ignore[arg-type]
        rows.append(("JMA", "jmaxml 1.0.0", t_rate))
    except ImportError:
        t_rate = None
        rows.append(("JMA", "jmaxml (not installed)", float("nan")))

    c_lalert = rate(lalert_parse, cap, args.rounds)
    rows.append(("CAP", "lalert", c_lalert))
    rows.append(("CAP", "bare lxml.fromstring", rate(bare_lxml, cap, args.rounds)))
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
        print(f"{fmt:4} {who:28} {r:10.0f} msg/s")
    print()
    print(f"JMA lalert / bare lxml : {r_lalert / r_lxml:6.2f}  (target >= 0.60)")
    if t_rate:
        print(f"JMA lalert / jmaxml    : {r_lalert / t_rate:6.2f}  (target >= 1.5)")
    if c_peer:
        print(f"CAP lalert / capparselib: {c_lalert / c_peer:6.2f}  (target >= 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
