"""Desk console login: operator passwords, the session cookie, CSRF tokens.

- Passwords: ``[[desk.users]] name, password_hash`` with ``hashlib.scrypt`` (memory-hard,
  in the standard library). Hash format ``scrypt:N:r:p:<salt b64>:<key b64>``; make one
  with ``python -m lalert.server.sessions hash`` (asks for the password).
  Ingest tokens log in too; the token's *name* is then the operator's name.
- Session: ``aiohttp-session``'s ``EncryptedCookieStorage`` (Fernet: AES-CBC + HMAC, with
  a time stamp checked against ``max_age``), key in ``<home>/keys/desk-session.key``
  (0600, made on first start), cookie HttpOnly, SameSite=Strict, path ``/desk``, Secure
  when the public URL is https. The cookie holds only the operator name, the CSRF token,
  the language and the login time; nothing to look up server-side, so a restart keeps
  operators logged in.
- CSRF: one random token per session, a hidden ``csrf`` field in every form, compared in
  constant time on every POST (``check_csrf``).
- Throttling: after ``LOGIN_FAILURES`` failed logins from one client address within
  ``LOGIN_WINDOW`` seconds, further attempts get 429 with ``Retry-After`` until the oldest
  of those failures leaves the window (``LoginThrottle``, in memory: a restart forgets,
  which costs an attacker a restart they cannot cause).
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import os
import secrets
import sys
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
LOGIN_WINDOW = 300.0


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

    def failed(self, addr: str) -> None:
        now = self.clock()
        self._recent(addr, now)
        self._fails.setdefault(addr, deque(maxlen=self.failures)).append(now)
        if len(self._fails) > self.max_keys:  # bound memory under a spray of addresses
            self._fails = {k: q for k, q in self._fails.items() if q[-1] > now - self.window}

    def succeeded(self, addr: str) -> None:
        self._fails.pop(addr, None)


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


def storage(home: Path, *, secure: bool = False) -> EncryptedCookieStorage:
    return EncryptedCookieStorage(
        Fernet(load_key(home)), cookie_name=COOKIE, path="/desk", httponly=True,
        samesite="Strict", secure=secure, max_age=MAX_AGE)


def middleware(store: EncryptedCookieStorage) -> Any:
    """aiohttp-session's middleware, to wrap only the desk's handlers (not the whole app,
    so public API requests never pay for cookie decryption)."""
    return session_middleware(store)


async def session_of(request: web.Request) -> Session:
    return await get_session(request)


async def start_session(request: web.Request, operator: str, lang: str) -> Session:
    """A fresh session after login (new CSRF token: nothing from before login carries over)."""
    s = await new_session(request)
    s["user"] = operator
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
