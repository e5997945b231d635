"""Files and directories under the home that hold messages or secrets: owner-only.

The journal, the derived state, the push outbox and the subscriptions (webhook secrets,
push endpoints) are SQLite files; SQLite creates their ``-wal`` / ``-shm`` companions
with the database file's own mode, so creating the database ``0600`` first is enough.
Keys and tokens are created with ``os.open(..., 0o600)`` where they are made. New
directories are ``0700``. The process umask is left alone: static exports for nginx or
a CDN must stay readable by others.
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """``mkdir -p`` where every directory it creates is ``0700`` (an existing one is left
    as the operator set it: a spool shared with a sender's account may be group-writable)."""
    path = Path(path)
    missing = []
    p = path
    while not p.is_dir():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(d, DIR_MODE)  # mkdir's mode is masked by the umask
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty and ``0600`` when missing; an existing file of ours (and its
    SQLite ``-wal`` / ``-shm``) that others may read is tightened to ``0600``."""
    path = Path(path)
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
        return path
    except FileExistsError:
        pass
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            st = p.stat()
        except FileNotFoundError:
            continue
        if st.st_mode & 0o077 and st.st_uid == os.getuid():
            os.chmod(p, FILE_MODE)
    return path
