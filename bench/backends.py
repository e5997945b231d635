"""Run a benchmark against PostgreSQL/PostGIS and Redis started on loopback for the run.

    .venv/bin/python bench/backends.py bench/load.py [its arguments …]
    .venv/bin/python bench/backends.py bench/ingest.py --burst 15000

Starts a throw-away PostgreSQL (PostGIS) and ``redis-server`` the way the test suite
does (``tests/backends.py``: temporary directories, loopback, as the ``postgres`` user
when run as root), appends ``--store postgresql://… --bus redis://…`` to the bench's
command line, and stops both afterwards. Unlike the tests' server, this one keeps
``fsync`` on: a journal commit costs what it costs in production, so the figures compare
fairly with SQLite's (``synchronous=FULL``). Needs Debian ``postgresql``,
``postgresql-15-postgis-3`` and ``redis-server`` (``scripts/test-services.sh``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.backends import PG_BIN, _as_pg_user, free_port  # noqa: E402


def start_pg(base: Path) -> tuple[int, Path]:
    user = _as_pg_user()
    if user:
        shutil.chown(base, "postgres")
    data, port = base / "data", free_port()
    subprocess.run([*user, str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U",
                    "postgres", "-E", "UTF8"], check=True, stdout=subprocess.DEVNULL)
    opts = (f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c max_connections=200 "
            "-c shared_buffers=128MB")
    subprocess.run([*user, str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-l",
                    str(base / "log"), "-w", "-t", "60", "start"], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([*user, str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U",
                    "postgres", "lalert"], check=True)
    return port, data


def stop_pg(data: Path) -> None:
    subprocess.run([*_as_pg_user(), str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast",
                    "stop"], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_redis(base: Path) -> tuple[int, subprocess.Popen]:
    import socket

    port = free_port()
    proc = subprocess.Popen([shutil.which("redis-server") or "/usr/bin/redis-server", "--port",
                             str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                             "no", "--dir", str(base)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return port, proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.05)


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    pg_base = Path(tempfile.mkdtemp(prefix="lalert-bench-pg-"))
    rd_base = Path(tempfile.mkdtemp(prefix="lalert-bench-redis-"))
    data = None
    proc = None
    try:
        pg_port, data = start_pg(pg_base)
        rd_port, proc = start_redis(rd_base)
        store = f"postgresql://postgres@127.0.0.1:{pg_port}/lalert"
        bus = f"redis://127.0.0.1:{rd_port}/0"
        print(f"PostgreSQL (fsync on) on 127.0.0.1:{pg_port}, Redis on 127.0.0.1:{rd_port}",
              flush=True)
        cmd = [sys.executable, *sys.argv[1:], "--store", store, "--bus", bus]
        return subprocess.run(cmd, cwd=ROOT).returncode
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        if data is not None:
            stop_pg(data)
        shutil.rmtree(pg_base, ignore_errors=True)
        shutil.rmtree(rd_base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
