"""Reading the FILE... arguments shared by parse / validate / enrich."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from lalert.model import Alert
from lalert.parsers import ParseError, parse


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


class ParsedInputs:
    """Parse every input, reporting unreadable or rejected files on stderr as they come.

    Iterate for ``(name, alerts)`` of the files that parsed; ``rejected`` counts the rest,
    which is what decides the commands' exit status (0 all parsed, 2 any rejected).
    """

    def __init__(self, names: list[str], *, max_bytes: int) -> None:
        self.names = names
        self.max_bytes = max_bytes
        self.rejected = 0

    def __iter__(self) -> Iterator[tuple[str, list[Alert]]]:
        for name, data in iter_inputs(self.names):
            if isinstance(data, OSError):
                print(f"lalert: {name}: cannot read: {data.strerror}", file=sys.stderr)
                self.rejected += 1
                continue
            try:
                alerts = parse(data, source=name, max_bytes=self.max_bytes)
            except ParseError as exc:
                print(f"lalert: rejected {exc}", file=sys.stderr)
                self.rejected += 1
                continue
            yield name, alerts

    @property
    def exit_status(self) -> int:
        return 2 if self.rejected else 0
