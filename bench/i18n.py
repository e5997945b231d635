"""What reading the catalogue from ``.po`` costs: compile in memory vs a prebuilt ``.mo``.

``lalert.i18n`` ships only the ``.po`` text and compiles each language in memory on first
use. This prints, per language and in one run, the median time of that compile (Babel
``read_po`` + ``write_mo`` + ``GNUTranslations``) beside the baseline a committed ``.mo``
would cost (``GNUTranslations`` over the same bytes, prebuilt once here), and a lookup's
cost once loaded. The load average is printed: on a shared machine compare only columns
of the same run.

    python bench/i18n.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import gettext
import io
import os
import statistics
import time

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from lalert import i18n


def _compile(po_bytes: bytes) -> gettext.GNUTranslations:
    cat = read_po(io.BytesIO(po_bytes), domain=i18n.DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, cat, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def _median_ms(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; medians of {args.rounds} rounds")
    print(f"{'lang':<10} {'msgids':>6} {'.po→memory ms':>14} {'prebuilt .mo ms':>16} {'lookup µs':>10}")
    for lang in i18n.LANGS:
        po = i18n.po_path(lang).read_bytes()
        mo = io.BytesIO()
        write_mo(mo, read_po(io.BytesIO(po), domain=i18n.DOMAIN), use_fuzzy=False)
        mo_bytes = mo.getvalue()
        compiled = _median_ms(lambda po=po: _compile(po), args.rounds)
        prebuilt = _median_ms(lambda b=mo_bytes: gettext.GNUTranslations(io.BytesIO(b)), args.rounds)
        cat = _compile(po)
        n = len(cat._catalog) - 1  # without the header entry
        t0 = time.perf_counter()
        for _ in range(10000):
            cat.gettext("避難指示")
        lookup = (time.perf_counter() - t0) * 100  # µs per call over 10,000 calls
        print(f"{lang:<10} {n:>6} {compiled:>14.2f} {prebuilt:>16.3f} {lookup:>10.3f}")


if __name__ == "__main__":
    main()
