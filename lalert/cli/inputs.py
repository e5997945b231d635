"""Reading the FILE... arguments shared by parse / validate / enrich."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path


def iter_inputs(names: list[str]) -> Iterator[tuple[str, bytes | OSError]]:
    """Yield (display name, bytes or the OSError) for files, directories (recursively,
    sorted) and ``-`` (stdin)."""
    for name in names:
        if name == "-":
            yield "<stdin>", sys.stdin.buffer.read()
            continue
        p = Path(name)
        if p.is_dir():
            for f in sorted(x for x in p.rglob("*") if x.is_file() and x.suffix.lower() in (".xml", ".cap", ".atom", ".rss")):
                yield str(f), _read(f)
        else:
            yield name, _read(p)


def _read(p: Path) -> bytes | OSError:
    try:
        return p.read_bytes()
    except OSError as exc:
        return exc
