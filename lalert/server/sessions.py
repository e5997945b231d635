"""Desk console login: operator passwords, the session cookie, CSRF tokens.

- Passwords: ``[[desk.users]] name, password_hash`` with ``hashlib.scrypt`` (memory-hard,
  in the standard library). Hash format ``scrypt:N:r:p:<salt b64>:<key b64>``; make one
  with ``python -m lalert.server.sessions hash`` (asks for the password).
  Ingest tokens log in too; the token's *name* is then the operator's name.
- Session: ``aiohttp-session``'s ``EncryptedCookieStorage`` (Fernet: AES-CBC + HMAC, with
  a time stamp checked against ``max_age``), key in ``<home>/keys/desk-session.key``
  (0600, made on first start), cookie HttpOnly, SameSite=Strict, path ``/desk``, Secure
  when the public URL is https. The cookie holds the operator name, a session id, the
  CSRF token, the language and the login time.
- Revocation: every session id is also kept server-side (``SessionRegistry``,
  ``<home>/desk-sessions.sqlite``, shared by every process on the home) with a
  fingerprint of the credential it was opened with. A request's session counts only
  while its row is live: logout ends the row, and a changed password hash or token (or a
  removed operator) no longer matches the fingerprint. A restart keeps live sessions.
- CSRF: one random token per session, a hidden ``csrf`` field in every form, compared in
  constant time on every POST (``check_csrf``).
- Throttling: every login attempt is counted *before* its password is checked (so a
  thousand concurrent guesses get at most ``LOGIN_FAILURES`` checks); after
  ``LOGIN_FAILURES`` attempts from one client (``lalert.clientaddr``: ``[http]
  trusted_proxies``) or ``LOGIN_FAILURES_PER_NAME`` for one operator name within
  ``LOGIN_WINDOW`` seconds, further attempts get 429 with ``Retry-After`` until the oldest
  leaves the window; a successful login forgets them (``LoginThrottle``, in memory per
  process: a restart forgets, which costs an attacker a restart they cannot cause).
"""

from __future__ import annotations

import base64
import contextlib
import getpass
import hashlib
import hmac
import os
import re
import secrets
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp_session import Session, get_session, new_session, session_middleware
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet

from lalert.store.private import private_dir

COOKIE = "lalert_desk"
KEY_FILE = Path("keys") / "desk-session.key"
MAX_AGE = 12 * 3600  # one long shift
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
LOGIN_FAILURES = 5
LOGIN_FAILURES_PER_NAME = 20  # from any number of clients: distributed guessing is bounded too
LOGIN_WINDOW = 300.0
SESSIONS_FILE = "desk-sessions.sqlite"


# --- passwords ---------------------------------------------------------------------------


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32,
                         maxmem=256 * n * r + 1024 * 1024)
    b64 = base64.b64encode
    return f"scrypt:{n}:{r}:{p}:{b64(salt).decode()}:{b64(key).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored``; False for anything malformed."""
    try:
        scheme, n, r, p, salt, key = stored.split(":")
        if scheme != "scrypt":
            return False
        n_, r_, p_ = int(n), int(r), int(p)
        want = base64.b64decode(key)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=n_, r=r_, p=p_,
                             dklen=len(want), maxmem=256 * n_ * r_ + 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


@dataclass(frozen=True)
class DeskUser:
    name: str
    password_hash: str


def users_from_config(desk_section: Mapping[str, Any]) -> list[DeskUser]:
    out = []
    for u in desk_section.get("users", []) or []:
        if isinstance(u, Mapping) and u.get("name") and u.get("password_hash"):
            out.append(DeskUser(str(u["name"]), str(u["password_hash"])))
    return out


# A hash to spend the same time on when the name is unknown, so timing does not tell
# which operator names exist.
_DUMMY = hash_password(secrets.token_hex(8))


def check_login(users: list[DeskUser], tokens: Mapping[str, str], name: str,
                secret: str) -> str | None:
    """The operator name for a login, or None.

    A configured user matches by name and password; otherwise the secret may be an ingest
    token, and the operator is then known by the token's name.
    """
    if not secret:
        return None
    user = next((u for u in users if name and hmac.compare_digest(u.name, name)), None)
    if user is not None:
        return user.name if verify_password(secret, user.password_hash) else None
    if name:
        verify_password(secret, _DUMMY)
    found = None
    for tname, token in tokens.items():
        if hmac.compare_digest(secret.encode(), token.encode()):
            found = tname
    return found


class LoginThrottle:
    """Failed logins per client address in a sliding window (in memory).

    ``retry_after(addr)`` is 0 while the address may try, else the whole seconds until the
    oldest counted failure leaves the window. A successful login forgets the address.
    """

    def __init__(self, failures: int = LOGIN_FAILURES, window: float = LOGIN_WINDOW,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 50_000) -> None:
        self.failures, self.window, self.clock, self.max_keys = failures, window, clock, max_keys
        self._fails: dict[str, deque[float]] = {}

    def _recent(self, addr: str, now: float) -> deque[float]:
        q = self._fails.get(addr)
        if q is None:
            return deque()
        while q and q[0] <= now - self.window:
            q.popleft()
        if not q:
            del self._fails[addr]
        return q

    def retry_after(self, addr: str) -> int:
        now = self.clock()
        q = self._recent(addr, now)
        if len(q) < self.failures:
            return 0
        return max(1, int(q[-self.failures] + self.window - now + 0.999))

    def attempt(self, addr: str) -> int:
        """Count an attempt before it is checked: 0 when it may go on, else the wait in
        whole seconds (and nothing counted). No await in between: atomic per process."""
        wait = self.retry_after(addr)
        if not wait:
            self.failed(addr)
        return wait

    def failed(self, addr: str) -> None:
        now = self.clock()
        self._recent(addr, now)
        self._fails.setdefault(addr, deque(maxlen=self.failures)).append(now)
        if len(self._fails) > self.max_keys:  # bound memory under a spray of addresses
            self._fails = {k: q for k, q in self._fails.items() if q[-1] > now - self.window}

    def succeeded(self, addr: str) -> None:
        self._fails.pop(addr, None)


# --- server-side sessions (revocation) ------------------------------------------------------

_SESSIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    sid TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    cred TEXT NOT NULL,
    created REAL NOT NULL,
    ended REAL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user);
"""


def fingerprint(secret: str) -> str:
    """What a session remembers of its credential: enough to notice a change, nothing
    that helps guess it (a hash of the stored hash or of the token)."""
    return hashlib.sha256(b"lalert-desk-session\0" + secret.encode()).hexdigest()[:32]


class SessionRegistry:
    """Desk sessions kept in the home, so logout and credential changes hold for every
    process that serves the desk (see the module docstring)."""

    def __init__(self, home: Path, max_age: float = MAX_AGE) -> None:
        from lalert.store.sqlite import open_durable

        path = Path(home) / SESSIONS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # created private (it names operators)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self.max_age = max_age
        self._db = open_durable(path, _SESSIONS_SCHEMA)
        self._lock = threading.Lock()

    def start(self, user: str, cred: str) -> str:
        sid = secrets.token_urlsafe(24)
        now = time.time()
        with self._lock:
            self._db.execute("INSERT INTO sessions(sid, user, cred, created) VALUES (?,?,?,?)",
                             (sid, user, cred, now))
            self._db.execute("DELETE FROM sessions WHERE created < ?", (now - 2 * self.max_age,))
        return sid

    def live(self, sid: Any, user: str, cred: str | None) -> bool:
        """The session ``sid`` of ``user`` is open, young enough, and its credential is
        still the one it was opened with."""
        if not isinstance(sid, str) or not sid or cred is None:
            return False
        with self._lock:
            row = self._db.execute(
                "SELECT user, cred, created, ended FROM sessions WHERE sid=?", (sid,)).fetchone()
        return bool(row and row[3] is None and row[0] == user
                    and hmac.compare_digest(row[1], cred)
                    and row[2] > time.time() - self.max_age)

    def end(self, sid: Any) -> None:
        if isinstance(sid, str) and sid:
            with self._lock:
                self._db.execute("UPDATE sessions SET ended=? WHERE sid=? AND ended IS NULL",
                                 (time.time(), sid))

    def end_user(self, user: str) -> int:
        """End every session of ``user`` (e.g. after a password change); how many."""
        with self._lock:
            cur = self._db.execute("UPDATE sessions SET ended=? WHERE user=? AND ended IS NULL",
                                   (time.time(), user))
        return cur.rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()


def credential_of(users: list[DeskUser], tokens: Mapping[str, str], operator: str,
                  via: Any) -> str | None:
    """The fingerprint of the credential ``operator`` logs in with now (``via``: "user" or
    "token"), or None when there is none any more (the session must end)."""
    if via == "token":
        token = tokens.get(operator)
        return fingerprint(token) if token else None
    user = next((u for u in users if u.name == operator), None)
    return fingerprint(user.password_hash) if user else None


# --- session cookie ----------------------------------------------------------------------


def load_key(home: Path) -> bytes:
    """The Fernet key in the home, made (0600) on first use."""
    path = Path(home) / KEY_FILE
    if not path.exists():
        private_dir(path.parent)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(Fernet.generate_key())
    return path.read_bytes().strip()


_CANONICAL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


class _StrictCookieStorage(EncryptedCookieStorage):
    """Reads only a canonical base64url cookie: base64 decoders ignore what follows the
    padding, so ``cookie + "A"`` would otherwise still open the session."""

    def load_cookie(self, request: web.Request) -> str | None:
        value = super().load_cookie(request)
        if value is None or (_CANONICAL.fullmatch(value) and len(value) % 4 == 0):
            return value
        return None


def storage(home: Path, *, secure: bool = False) -> EncryptedCookieStorage:
    return _StrictCookieStorage(
        Fernet(load_key(home)), cookie_name=COOKIE, path="/desk", httponly=True,
        samesite="Strict", secure=secure, max_age=MAX_AGE)


def middleware(store: EncryptedCookieStorage) -> Any:
    """aiohttp-session's middleware, to wrap only the desk's handlers (not the whole app,
    so public API requests never pay for cookie decryption)."""
    return session_middleware(store)


async def session_of(request: web.Request) -> Session:
    return await get_session(request)


async def start_session(request: web.Request, operator: str, lang: str, *, sid: str = "",
                        via: str = "user") -> Session:
    """A fresh session after login (new CSRF token: nothing from before login carries over);
    ``sid`` is its row in the ``SessionRegistry``."""
    s = await new_session(request)
    s["user"] = operator
    s["sid"] = sid
    s["via"] = via
    s["csrf"] = secrets.token_urlsafe(32)
    s["lang"] = lang
    s["since"] = int(time.time())
    return s


async def csrf_token(request: web.Request) -> str:
    """This session's CSRF token (made on first use, e.g. for the login form)."""
    s = await get_session(request)
    tok = s.get("csrf")
    if not tok:
        tok = s["csrf"] = secrets.token_urlsafe(32)
    return str(tok)


async def check_csrf(request: web.Request, given: str | None) -> bool:
    s = await get_session(request)
    want = s.get("csrf")
    return bool(want and given) and hmac.compare_digest(str(want).encode(), str(given).encode())


def main(argv: list[str] | None = None) -> int:
    """``python -m lalert.server.sessions hash``: print a password hash for ``[[desk.users]]``."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] != ["hash"]:
        print("usage: python -m lalert.server.sessions hash", file=sys.stderr)
        return 2
    pw = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    if not pw:
        print("empty password", file=sys.stderr)
        return 1
    print(hash_password(pw))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
