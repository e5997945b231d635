"""``lalert run``: the daemon."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from lalert.cli.home import add_home_options, remember
from lalert.cli.home import config_from_args as home_config
from lalert.config import Config


def app_runner(app: Any, config: Any) -> Any:
    """The aiohttp runner every lalert process serves through (daemon and workers).

    aiohttp's own default keeps a connection that never finishes its request headers for
    an hour (slowloris); its keep-alive timer runs from connection_made and is not reset
    by incoming bytes, so ``[http] keepalive_timeout`` bounds both idle keep-alive and
    slow headers.
    """
    from aiohttp import web

    idle = float(config.section("http").get("keepalive_timeout", 15))
    return web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5,
                         keepalive_timeout=idle)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run", help="run the daemon (ingest, lifecycle, outputs, read API, desk)",
        description="Run lalert as a service. Settings: --config FILE (TOML), then LALERT_* "
        "environment variables, then these flags. With --demo and no --config the demo "
        "configuration (lalert/demo/lalert.toml) is used, the demo geodata is loaded and the "
        "demo messages are replayed on the first start of the home. The home remembers the "
        "configuration it was run with (lalert-run.json): later commands given only --home "
        "use it.")
    add_common(p)
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 8080; 0 picks a free one)")
    p.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING ...")
    p.set_defaults(func=run)


def add_common(p: argparse.ArgumentParser) -> None:
    """``--config``, ``--home``, ``--demo`` (``lalert.cli.home``), as every command has them."""
    add_home_options(p)


def config_from_args(args: argparse.Namespace) -> Config:
    """The configuration (``lalert.cli.home``) with ``--host`` / ``--port`` over it."""
    return home_config(args, host=getattr(args, "host", None), port=getattr(args, "port", None))


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=getattr(logging, str(args.log_level).upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    config = config_from_args(args)
    from lalert.server.app import HomeLocked

    try:
        return asyncio.run(serve(config))
    except HomeLocked as exc:
        print(f"lalert: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"lalert: cannot listen on {config.host}:{config.port}: {exc.strerror}",
              file=sys.stderr)
        return 2


async def listen(runner: Any, config: Any) -> None:
    """Serve the set-up ``runner`` on ``config.host:port``; port 0 takes a free port and
    writes it back to ``config.port`` (for the printed URLs) and, without a configured
    ``base_url``, to the started outputs' public URL (signage QR codes print it)."""
    from aiohttp import web

    from lalert.server.keys import OUTPUTS

    site = web.TCPSite(runner, config.host, config.port, backlog=1024)
    await site.start()
    if config.port == 0:
        server = getattr(site, "_server", None)
        if server and server.sockets:
            config.port = server.sockets[0].getsockname()[1]
            if not config.base_url:
                for o in runner.app.get(OUTPUTS, ()):
                    ctx = getattr(o, "ctx", None)
                    if ctx is not None:
                        ctx.base_url = config.public_url
                        ctx.settings["public_url"] = config.public_url


async def serve(config: Config) -> int:
    """Run until SIGINT/SIGTERM; once the home is locked and listening, record the
    configuration in it (``lalert.cli.home.remember``)."""
    from lalert.server import create_app

    app = create_app(config)
    runner = app_runner(app, config)
    await runner.setup()
    await listen(runner, config)
    remember(config)
    print_urls(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("lalert: stopping", flush=True)
    await runner.cleanup()
    return 0


def print_urls(config: Config) -> None:
    base = config.public_url
    token_file = Path(config.home) / "ingest.token"
    lines = [
        f"lalert running (home {config.home})",
        f"  map      {base}/",
        f"  console  {base}/desk",
        f"  API      {base}/api/v1/alerts",
        f"  signage  {base}/signage/",
        f"  ingest   POST {base}/api/v1/messages  (Authorization: Bearer <token>"
        + (f", see {token_file})" if token_file.exists() else ")"),
        f"  health   {base}/healthz",
    ]
    print("\n".join(lines), flush=True)
