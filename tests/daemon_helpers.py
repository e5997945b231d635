"""Start a real ``lalert run`` process for tests (loopback only, temporary home).

Use the ``daemon`` fixture for a default daemon, or ``start_daemon`` to choose::

    from tests.daemon_helpers import Daemon, daemon, start_daemon  # noqa: F401 (fixture)

    def test_something(daemon):                      # outputs off, no demo
        status, body = daemon.post(b"<alert ...>")   # ingest with the daemon's token
        assert daemon.get_json("/api/v1/alerts")[1]["features"] == []

    def test_demo(tmp_path):
        with start_daemon(tmp_path / "home", demo=True, outputs=["signage"]) as d:
            d.wait_applied(8)
            ...

The process listens on a free loopback port (``--port 0``; the URL is read from what it
prints), has the feed poller off (no internet) and its log in ``<home>/daemon.log``,
which is printed when start-up fails. ``d.kill()`` is ``kill -9``; ``d.restart()``
starts a new process on the same home. Settings beyond the keyword arguments go in
``env`` (``LALERT_…`` variables) or a TOML ``config_text``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
LALERT = [sys.executable, "-m", "lalert"]
URL_LINE = re.compile(r"^\s+map\s+(http://\S+?)/?$", re.M)


@dataclass
class Daemon:
    home: Path
    token: str
    env: dict[str, str]
    args: list[str]
    url: str = ""
    proc: subprocess.Popen | None = None
    log_path: Path = field(default=Path())

    # --- process --------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> Daemon:
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_path = self.home / "daemon.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        start_at = self.log_path.stat().st_size
        self.proc = subprocess.Popen(
            [*LALERT, "run", "--home", str(self.home), "--host", "127.0.0.1", "--port", "0",
             *self.args],
            stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=str(ROOT))
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"lalert run exited {self.proc.returncode}:\n{self.log()}")
            with open(self.log_path, "rb") as fh:
                fh.seek(start_at)
                m = URL_LINE.search(fh.read().decode("utf-8", "replace"))
            if m:
                self.url = m.group(1)
                if self._healthy():
                    return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"lalert run did not come up in {timeout}s:\n{self.log()}")

    def _healthy(self) -> bool:
        try:
            return self.get("/healthz")[0] == 200
        except OSError:
            return False

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM and wait (a clean shutdown)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def kill(self) -> None:
        """``kill -9``: no chance to flush or clean up."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> Daemon:
        self.stop()
        return self.start()

    def log(self) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")[-6000:]
        except OSError:
            return ""

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- HTTP (stdlib, synchronous: keeps tests free of event-loop plumbing) --------------

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None,
                timeout: float = 30.0) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(self.url + path, data=body, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def get(self, path: str, headers: dict[str, str] | None = None):
        return self.request("GET", path, headers=headers)

    def get_json(self, path: str) -> tuple[int, Any]:
        status, _, body = self.get(path)
        return status, (json.loads(body) if body else None)

    def post(self, data: bytes, *, token: str | None = "default",
             content_type: str = "application/xml") -> tuple[int, Any]:
        """POST /api/v1/messages (with the daemon's token unless ``token`` says otherwise)."""
        headers = {"Content-Type": content_type}
        tok = self.token if token == "default" else token
        if tok is not None:
            headers["Authorization"] = f"Bearer {tok}"
        status, _, body = self.request("POST", "/api/v1/messages", data, headers)
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body

    def health(self) -> dict[str, Any]:
        return self.get_json("/healthz")[1]

    def wait(self, pred: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = pred()
            if v:
                return v
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}\n{self.log()}")

    def wait_applied(self, n: int | None = None, timeout: float = 60.0) -> dict[str, Any]:
        """Until every journaled message (or at least ``n``) has gone through the lifecycle."""
        def done() -> dict[str, Any] | None:
            h = self.health()["journal"]
            target = h["messages"] if n is None else n
            return h if h["applied"] >= target and h["pending"] == 0 else None
        return self.wait(done, timeout, "messages to be applied")


def start_daemon(
    home: Path,
    *,
    demo: bool = False,
    outputs: list[str] | None = None,
    config_text: str | None = None,
    env: dict[str, str] | None = None,
    token: str | None = None,
    timeout: float = 60.0,
) -> Daemon:
    """Start ``lalert run`` on ``home`` and wait until ``/healthz`` answers.

    ``outputs``: names (or ``module:Class``) to enable; None keeps the configuration's
    choice, which without ``config_text`` and ``demo`` is *no outputs* (fast, quiet).
    """
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    token = token or secrets.token_urlsafe(16)
    e = {k: v for k, v in os.environ.items() if not k.startswith("LALERT_")}
    e.update({
        "LALERT_INGEST_TOKEN": token,
        "LALERT_POLLER__ENABLED": "false",
        "LALERT_LIFECYCLE__EXPIRY_INTERVAL": "0.5",
        "LALERT_SPOOL__INTERVAL": "0.1",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    })
    if outputs is not None:
        e["LALERT_OUTPUTS__ENABLED"] = json.dumps(outputs)
    elif config_text is None and not demo:
        e["LALERT_OUTPUTS__ENABLED"] = "[]"
    e.update(env or {})
    args: list[str] = []
    if config_text is not None:
        cfg = home.parent / f"{home.name}.toml"
        cfg.write_text(config_text, "utf-8")
        args += ["--config", str(cfg)]
    if demo:
        args.append("--demo")
    return Daemon(home=home, token=token, env=e, args=args).start(timeout)


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    """A daemon on a fresh home with no outputs; stopped after the test."""
    d = start_daemon(tmp_path / "home")
    try:
        yield d
    finally:
        d.stop()


# --- hand-made test messages ----------------------------------------------------------

KUMAMOTO_SQUARE = "32.75,130.65 32.75,130.75 32.85,130.75 32.85,130.65 32.75,130.65"


def cap(
    identifier: str,
    *,
    sent: str = "2026-07-03T17:00:00+09:00",
    status: str = "Actual",
    msg_type: str = "Alert",
    references: str | None = None,
    expires: str | None = "2099-12-31T00:00:00+09:00",
    polygon: str | None = KUMAMOTO_SQUARE,
    level: int | None = 4,
    event: str = "大雨",
    category: str = "Met",
    headline: str = "熊本市に避難指示（テスト用）",
) -> bytes:
    """A CAP 1.2 alert for tests (hand-made; not a real message). The default polygon is
    a square around central 熊本市 (lat 32.75-32.85, lon 130.65-130.75)."""
    refs = f"<references>{references}</references>" if references else ""
    exp = f"<expires>{expires}</expires>" if expires else ""
    poly = f"<polygon>{polygon}</polygon>" if polygon else ""
    lvl = (f"<parameter><valueName>警戒レベル</valueName><value>{level}</value></parameter>"
           if level else "")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- hand-made test message for lalert, not a real alert -->
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>test@lalert.example</sender>
  <sent>{sent}</sent>
  <status>{status}</status>
  <msgType>{msg_type}</msgType>
  <scope>Public</scope>{refs}
  <info>
    <language>ja-JP</language>
    <category>{category}</category>
    <event>{event}</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>{exp}
    <senderName>熊本市（テスト）</senderName>
    <headline>{headline}</headline>{lvl}
    <area><areaDesc>熊本市中心部</areaDesc>{poly}</area>
  </info>
</alert>
""".encode()


def soap_publish(payload: bytes) -> bytes:
    """Wrap a message in an L-Alert style SOAP 1.1 ``publish`` envelope (hand-made)."""
    body = payload.split(b"?>", 1)[1] if payload.startswith(b"<?xml") else payload
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
            b'<soap:Body><publish xmlns="http://soap.publiccommons.ne.jp/"><message>'
            + body + b"</message></publish></soap:Body></soap:Envelope>")


# --- an output that records what it did (crash tests) ------------------------------------


class RecordingOutput:
    """Test output: appends ``seq kind alert-id`` to ``<home>/recorder.log`` for every
    change. Enable it with ``outputs=["tests.daemon_helpers:RecordingOutput"]``.

    It follows the outbox contract every acting output follows: record ``pending``,
    act, record ``sent``; after a restart, ``sent`` means skip, and ``pending`` means the
    process may have died mid-action, so the receiver is asked whether it already has it
    (a webhook receiver dedupes by ``webhook-id``; here, the log is looked at)."""

    name = "recorder"

    async def start(self, ctx) -> None:
        self.ctx = ctx
        self.path = ctx.home / "recorder.log"
        self.fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    async def handle(self, change) -> None:
        box, key = self.ctx.outbox, str(change.seq)
        if box.is_done(self.name, key):
            return
        if box.state(self.name, key) == "pending" and self._logged(change.seq):
            box.record(self.name, key, "sent", "confirmed after restart")
            return
        box.record(self.name, key, "pending")
        self.fh.write(f"{change.seq} {change.kind} {change.alert.id}\n")
        self.fh.flush()
        box.record(self.name, key, "sent")

    def _logged(self, seq: int) -> bool:
        return any(line.split(" ", 1)[0] == str(seq)
                   for line in self.path.read_text("utf-8").splitlines())

    def routes(self) -> list:
        return []

    async def stop(self) -> None:
        self.fh.close()


class PoisonOutput:
    """Test output that cannot process an alert whose id contains ``poison`` (it raises,
    every time) and appends ``seq alert-id`` to ``<home>/poison.log`` for every other one.
    Enable it with ``outputs=["tests.daemon_helpers:PoisonOutput"]``: the bus must skip
    the poisoned change *with an alarm* and go on with the next."""

    name = "poison"

    async def start(self, ctx) -> None:
        self.path = ctx.home / "poison.log"

    async def handle(self, change) -> None:
        if "poison" in change.alert.id:
            raise RuntimeError(f"cannot process {change.alert.id}")
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(f"{change.seq} {change.alert.id}\n")

    def routes(self) -> list:
        return []

    async def stop(self) -> None:
        pass


class UnstartableOutput(PoisonOutput):
    """Test output whose ``start`` fails: the daemon runs without it, with an alarm."""

    name = "unstartable"

    async def start(self, ctx) -> None:
        raise RuntimeError("no such device")
