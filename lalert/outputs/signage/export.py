"""Static copy of every screen for nginx or a CDN when the daemon is out of reach.

Files are written next to their final name and renamed into place, so a web server
reading the directory never serves half a page.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def export_all(files: dict[str, bytes], directory: Path) -> list[Path]:
    """Write ``files`` (relative path → bytes) under ``directory``; unchanged files are kept."""
    written: list[Path] = []
    directory.mkdir(parents=True, exist_ok=True)
    for rel, data in sorted(files.items()):
        target = directory / rel
        if target.resolve().parent != (directory / Path(rel).parent).resolve():
            raise ValueError(f"refusing to write outside {directory}: {rel}")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            if target.read_bytes() == data:
                continue
        except OSError:
            pass
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(target)
    return written
