"""After a daemon run, what the home holds of messages and secrets is owner-only.

Journal, state, push outbox and subscriptions (with their SQLite ``-wal``/``-shm``),
keys and tokens are ``0600``; directories lalert made are ``0700``. An older home whose
database others could read is tightened on the next start.
"""

from __future__ import annotations

import os
import stat

from lalert.server.sessions import hash_password
from tests.daemon_helpers import cap, start_daemon

CONFIG = f"""
[[desk.users]]
name = "sato"
password_hash = "{hash_password("modes-pw")}"
"""
NOT_SECRET = {"daemon.log", "lalert.lock"}  # the test's own log; a pid


def modes(home):
    out = {}
    for root, dirs, files in os.walk(home):
        for name in dirs + files:
            p = os.path.join(root, name)
            out[os.path.relpath(p, home)] = stat.S_IMODE(os.stat(p).st_mode)
    return out


def test_home_files_are_owner_only(tmp_path):
    home = tmp_path / "home"
    old = os.umask(0o022)  # an ordinary umask: the files must not depend on it
    try:
        with start_daemon(home, outputs=["signage", "map", "webhook", "webpush"],
                          config_text=CONFIG, token=None) as d:
            assert d.post(cap("modes-1"))[0] == 202
            d.wait_applied(1)
            status, _, _ = d.request("POST", "/api/v1/subscriptions", json_body(), {
                "Authorization": f"Bearer {d.token}", "Content-Type": "application/json"})
            assert status in (201, 400, 422), status
            seen = modes(home)
    finally:
        os.umask(old)
    names = set(seen)
    for must in ("journal.sqlite", "state.sqlite", "journal.sqlite-wal", "vapid_private.pem",
                 "push.sqlite", "subscriptions.sqlite", "spool"):
        assert must in names, (must, sorted(names))
    loose = {n: oct(m) for n, m in seen.items()
             if n not in NOT_SECRET and m & 0o077}
    assert loose == {}, loose
    assert seen["spool"] == 0o700 and seen["spool/incoming"] == 0o700


def test_a_home_lalert_creates_is_0700(tmp_path):
    from lalert.server.app import lock_home

    old = os.umask(0o022)
    try:
        fh = lock_home(tmp_path / "new" / "home")
        fh.close()
    finally:
        os.umask(old)
    for p in (tmp_path / "new", tmp_path / "new" / "home"):
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o700, p


def test_an_older_readable_database_is_tightened(tmp_path):
    home = tmp_path / "home"
    with start_daemon(home) as d:
        d.wait_applied(0)
    for name in ("journal.sqlite", "state.sqlite"):
        os.chmod(home / name, 0o644)
    with start_daemon(home):
        pass
    for name in ("journal.sqlite", "state.sqlite"):
        assert stat.S_IMODE(os.stat(home / name).st_mode) == 0o600, name


def json_body() -> bytes:
    return (b'{"channel": "webhook", "url": "http://127.0.0.1:9/hook", '
            b'"lat": 32.8, "lon": 130.7, "radius_m": 1000}')
