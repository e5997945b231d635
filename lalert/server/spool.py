"""Spool directory ingest: ``<home>/spool/incoming``.

Senders write ``NAME.tmp`` (or a dot-file) and rename it when complete; only complete
names are read. Each file is journaled like a pushed message (sender = its name), then
moved to ``done/`` or ``rejected/`` prefixed with its message id. A crash between the
commit and the move re-reads the file on restart, which the journal then records as a
byte-identical duplicate, so nothing is lost and nothing applies twice. The directory is
polled (every ``spool.interval`` seconds) rather than watched with inotify: it works the
same on every filesystem, including network mounts, with no extra dependency.
"""

from __future__ import annotations

import asyncio
import logging
import os
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
                       if e.is_file() and not e.name.startswith(".") and not e.name.endswith(".tmp")]
        except FileNotFoundError:
            return []
        entries.sort(key=lambda e: (e.stat().st_mtime_ns, e.name))
        return [Path(e.path) for e in entries]

    async def scan_once(self) -> int:
        n = 0
        limit = self.pipeline.config.max_message_bytes
        for path in self.ready_files():
            try:
                size = path.stat().st_size
                if size > limit:
                    receipt = await self.pipeline.reject_oversize(size, source="spool",
                                                                  sender=path.name)
                else:
                    receipt = await self.pipeline.submit(path.read_bytes(), source="spool",
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
