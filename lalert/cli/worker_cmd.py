"""``lalert worker --role R``: one share of the daemon, for scaling out.

Workers are stateless processes that share the store and the bus named in the
configuration (``store = "postgresql://…"``, ``bus = "redis://…"``); start any number of
each role, on any machine. Roles are described in ``lalert.server.roles``. Each worker
listens on its own port (``--port``, or ``[worker.<role>] port`` in the TOML; 0 picks a
free one) for ``/healthz`` and ``/metrics`` (plus its role's routes).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from lalert.cli.run_cmd import add_common, app_runner, config_from_args, listen, print_urls


def register(sub: argparse._SubParsersAction) -> None:
    from lalert.server.roles import ROLES

    p = sub.add_parser(
        "worker", help="run one role of the daemon (scale-out; needs a shared store and bus)",
        description="Run one role of lalert against a shared store and bus. Roles: "
        + ", ".join(ROLES) + " (a comma list runs several in one process). "
        "lalert run runs every role in one process.")
    add_common(p)
    p.add_argument("--role", required=True, help="ingest | poller | enrich | signage | tiles "
                   "| push (or a comma list)")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port for this worker (0 picks a free one)")
    p.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING ...")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lalert.server.roles import ROLES

    logging.basicConfig(level=getattr(logging, str(args.log_level).upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    roles = frozenset(r.strip() for r in str(args.role).split(",") if r.strip())
    bad = roles - set(ROLES)
    if bad or not roles:
        print(f"lalert worker: unknown role(s) {sorted(bad)}; roles: {', '.join(ROLES)}",
              file=sys.stderr)
        return 2
    config = config_from_args(args)
    if args.port is None:
        for role in sorted(roles):
            port = config.section("worker").get(role, {}).get("port")
            if port is not None:
                config.port = int(port)
                break
    try:
        return asyncio.run(serve(config, roles))
    except ValueError as exc:  # no shared bus, unknown store scheme ...
        print(f"lalert worker: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"lalert worker: cannot listen on {config.host}:{config.port}: {exc.strerror}",
              file=sys.stderr)
        return 2


async def serve(config, roles: frozenset[str]) -> int:
    import signal

    from lalert.server import create_app

    app = create_app(config, roles=roles)
    runner = app_runner(app, config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    setup = asyncio.create_task(runner.setup())  # an enrich standby waits here for the lock
    done, _ = await asyncio.wait({setup, asyncio.create_task(stop.wait())},
                                 return_when=asyncio.FIRST_COMPLETED)
    if setup not in done:
        setup.cancel()
        return 0
    setup.result()
    await listen(runner, config)
    print(f"lalert worker {','.join(sorted(roles))} (pid {__import__('os').getpid()})",
          flush=True)
    print_urls(config)
    await stop.wait()
    print("lalert: stopping", flush=True)
    await runner.cleanup()
    return 0
