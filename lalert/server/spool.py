"""Spool directory ingest: ``<home>/spool/incoming``.

Senders write ``NAME.tmp`` (or a dot-file) and rename it when complete; only complete
names are read. Each file is journaled like a pushed message (sender = its name), then
moved to ``done/`` or ``rejected/`` prefixed with its message id. A crash between the
commit and the move re-reads the file on restart, which the journal then records as a
byte-identical duplicate, so nothing is lost and nothing applies twice. The directory is
polled (every ``spool.interval`` seconds) rather than watched with inotify: it works the
same on every filesystem, including network mounts, with no extra dependency.

Only regular files are read, never through a symbolic link (``O_NOFOLLOW``): whoever may
write the spool (another account, by a shared group) could otherwise link a name to a file
only lalert may read — ``keys/desk-session.key``, ``ingest.token`` — and have its bytes
journaled and shown on the desk and the raw API. A link is left where it is and named in
the spool's ``last_error``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from pathlib import Path
from typing import Any

from lalert.pipeline import Pipeline
from lalert.store.private import private_dir

log = logging.getLogger(__name__)


class Spool:
    def __init__(self, pipeline: Pipeline, base: Path, *, interval: float = 0.5) -> None:
        self.pipeline = pipeline
        self.incoming = base / "incoming"
        self.done = base / "done"
        self.rejected = base / "rejected"
        self.interval = interval
        self.counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        for d in (self.incoming, self.done, self.rejected):
            private_dir(d)  # messages wait here: owner-only unless the operator widened it
        self._task = asyncio.create_task(self._run(), name="spool")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def ready_files(self) -> list[Path]:
        try:
            entries = [e for e in os.scandir(self.incoming)
                       if not e.name.startswith(".") and not e.name.endswith(".tmp")]
        except FileNotFoundError:
            return []
        links = [e.name for e in entries if e.is_symlink()]
        if links:
            self.last_error = f"symbolic links are not read: {', '.join(sorted(links)[:5])}"
        entries = [e for e in entries if e.is_file(follow_symlinks=False)]
        entries.sort(key=lambda e: (e.stat().st_mtime_ns, e.name))
        return [Path(e.path) for e in entries]

    async def scan_once(self) -> int:
        n = 0
        limit = self.pipeline.config.max_message_bytes
        for path in self.ready_files():
            try:
                size, data = _read_regular(path, limit)
                if data is None:
                    receipt = await self.pipeline.reject_oversize(size, source="spool",
                                                                  sender=path.name)
                else:
                    receipt = await self.pipeline.submit(data, source="spool",
                                                         sender=path.name)
            except OSError as exc:
                self.last_error = f"{path.name}: {exc}"
                log.warning("spool: cannot read %s: %s", path, exc)
                continue
            dest = self.rejected if receipt.outcome == "rejected" else self.done
            self.counts[receipt.outcome] = self.counts.get(receipt.outcome, 0) + 1
            try:
                path.rename(dest / f"{receipt.id:08d}-{path.name}")
            except OSError as exc:
                self.last_error = f"{path.name}: {exc}"
            n += 1
        return n

    async def _run(self) -> None:
        while True:
            try:
                await self.scan_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = str(exc)
                log.exception("spool scan failed")
            await asyncio.sleep(self.interval)

    def status(self) -> dict[str, Any]:
        return {"dir": str(self.incoming), "waiting": len(self.ready_files()), **self.counts,
                "last_error": self.last_error}


def _read_regular(path: Path, limit: int) -> tuple[int, bytes | None]:
    """(size, bytes) of a regular file opened without following a link (the name may have
    been swapped for one since the directory was listed); bytes None when over ``limit``."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"{path.name} is not a regular file")
        if st.st_size > limit:
            return st.st_size, None
        return st.st_size, fh.read(limit + 1)
