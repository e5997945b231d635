"""PostgreSQL/PostGIS and Redis for tests: started on loopback in temporary directories,
stopped at the end of the session, and a ``backend`` fixture parametrised over
``sqlite`` (the default store and the in-memory bus) and ``postgis+redis``.

Import the fixtures into a test module::

    from tests.backends import backend, pg_server, redis_server  # noqa: F401 (fixtures)

    def test_x(backend, tmp_path):
        with start_daemon(tmp_path / "home", env=backend.env) as d: ...

The servers come from Debian packages (``scripts/test-services.sh`` installs
``postgresql``, ``postgresql-15-postgis-3`` and ``redis-server``). PostgreSQL refuses to
run as root, so as root it runs as the ``postgres`` system user the package creates.
The ``postgis+redis`` parameter is skipped, with the reason, when they are missing.
Each test gets its own database (a copy of a template that already has PostGIS and the
schema) and its own stream name, so tests never see each other's data.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("LALERT_PG_BIN", "/usr/lib/postgresql/15/bin"))
TEMPLATE = "lalert_tpl"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_pg_user() -> list[str]:
    """PostgreSQL will not run as root: run its tools as the ``postgres`` user then."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        raise RuntimeError("running as root without runuser: cannot start PostgreSQL")
    return [runuser, "-u", "postgres", "--"]


@dataclass
class PgServer:
    port: int
    datadir: Path
    created: list[str] = field(default_factory=list)

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def new_database(self) -> str:
        """A fresh database copied from the template (PostGIS and schema in place)."""
        import psycopg

        name = f"t_{secrets.token_hex(6)}"
        with psycopg.connect(self.url(), autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}" TEMPLATE {TEMPLATE}')
        self.created.append(name)
        return self.url(name)


@dataclass
class RedisServer:
    port: int
    proc: subprocess.Popen

    def url(self, stream: str | None = None, **opts: object) -> str:
        q = "&".join([f"stream={stream}"] * bool(stream) + [f"{k}={v}" for k, v in opts.items()])
        return f"redis://127.0.0.1:{self.port}/0" + (f"?{q}" if q else "")


def _start_pg() -> PgServer:
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL is not installed ({PG_BIN}/initdb missing; run "
                    "scripts/test-services.sh)")
    if not Path("/usr/share/postgresql/15/extension/postgis.control").exists():
        pytest.skip("PostGIS is not installed (Debian postgresql-15-postgis-3)")
    import psycopg  # the store's driver

    user = _as_pg_user()
    base = Path(tempfile.mkdtemp(prefix="lalert-pg-"))
    datadir = base / "data"
    if user:
        shutil.chown(base, "postgres")
    port = free_port()
    subprocess.run([*user, str(PG_BIN / "initdb"), "-D", str(datadir), "-A", "trust",
                    "-U", "postgres", "-E", "UTF8", "--no-sync"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # fsync off: a kill -9 of lalert (what the tests do) never touches the server's files;
    # only an OS crash would need it, and the tests do not crash the OS.
    opts = (f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c max_connections=200 -c shared_buffers=64MB")
    subprocess.run([*user, str(PG_BIN / "pg_ctl"), "-D", str(datadir), "-o", opts,
                    "-l", str(base / "log"), "-w", "-t", "60", "start"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    srv = PgServer(port, datadir)
    with psycopg.connect(srv.url(), autocommit=True) as c:
        c.execute(f"CREATE DATABASE {TEMPLATE}")
    from lalert.store.pggeo import ensure_geo_schema
    from lalert.store.postgis import ensure_schema

    ensure_schema(srv.url(TEMPLATE))
    ensure_geo_schema(srv.url(TEMPLATE))
    return srv


def _stop_pg(srv: PgServer) -> None:
    subprocess.run([*_as_pg_user(), str(PG_BIN / "pg_ctl"), "-D", str(srv.datadir), "-m",
                    "immediate", "stop"], check=False, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    shutil.rmtree(srv.datadir.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    try:
        srv = _start_pg()
    except (subprocess.CalledProcessError, ImportError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        pytest.skip(f"PostgreSQL could not be started: {exc} {detail.decode(errors='replace')}")
    try:
        yield srv
    finally:
        _stop_pg(srv)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(exe).exists():
        pytest.skip("redis-server is not installed (run scripts/test-services.sh)")
    try:
        import redis  # noqa: F401 - the bus's client
    except ImportError:
        pytest.skip("the redis Python client is not installed (pip install 'lalert[redis]')")
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="lalert-redis-"))
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--daemonize", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.skip("redis-server could not be started")
            time.sleep(0.05)
    try:
        yield RedisServer(port, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class Backend:
    name: str  # sqlite | postgis+redis
    env: dict[str, str]
    store_url: str = "sqlite"
    bus_url: str = "memory"

    @property
    def shared(self) -> bool:
        return self.name != "sqlite"


BACKENDS = ["sqlite", "postgis+redis"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """The store and bus a daemon under test uses, as ``LALERT_…`` variables."""
    if request.param == "sqlite":
        return Backend("sqlite", {})
    pg = request.getfixturevalue("pg_server")
    rd = request.getfixturevalue("redis_server")
    store = pg.new_database()
    bus = rd.url(stream=f"t-{secrets.token_hex(4)}", claim_idle=2)
    return Backend(request.param, {"LALERT_STORE": store, "LALERT_BUS": bus}, store, bus)
