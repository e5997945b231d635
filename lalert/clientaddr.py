"""Who the client is, for throttles: the peer address, or — only when the peer is a
trusted reverse proxy (``[http] trusted_proxies``, CIDRs) — the address that proxy names in
``Forwarded`` (RFC 7239) or ``X-Forwarded-For``.

Why only then: any client can send those headers; believed from anyone, they let one
person pose as many (escaping a throttle) or as another (locking them out). Behind the
documented nginx every connection comes from the proxy, so without this every client
would share one address. The chain is read from the right, skipping trusted proxies: the
first address a trusted hop did not vouch for is the client.

An IPv6 client is keyed by its /64: one subscriber line or host gets a whole /64 (RFC
6177; privacy addresses rotate inside it), so keyed by address a single client could
take 2**64 fresh turns at every per-client throttle. IPv4-mapped addresses count as IPv4.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    out = []
    for c in cidrs:
        try:
            out.append(ipaddress.ip_network(c.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"[http] trusted_proxies: {c!r} is not a CIDR") from exc
    return tuple(out)


def trusted_proxies(settings: Mapping[str, Any]) -> tuple[Network, ...]:
    """``[http] trusted_proxies`` from a settings tree (``Config.raw`` / ``ctx.settings``)."""
    http = settings.get("http") if isinstance(settings, Mapping) else None
    raw = http.get("trusted_proxies") if isinstance(http, Mapping) else None
    if isinstance(raw, str):
        raw = [c for c in raw.split(",") if c.strip()]
    return _networks(tuple(str(c) for c in raw or ()))


def _ip(text: str) -> str | None:
    """An address from a header value (``[v6]:port``, ``v4:port``, quoted), or None."""
    s = text.strip().strip('"')
    if s.startswith("["):
        s = s[1:].split("]", 1)[0]
    elif s.count(":") == 1:
        s = s.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(s))
    except ValueError:
        return None


def _trusted(addr: str | None, nets: Iterable[Network]) -> bool:
    if not addr:
        return False
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip.version == n.version and ip in n for n in nets)


def throttle_key(addr: str) -> str:
    """What a throttle counts for ``addr``: an IPv4 address itself, an IPv6 one's /64."""
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return addr
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def client_address(request: web.Request, trusted: Iterable[Network] = ()) -> str:
    """The client's address as throttles should key it (see the module docstring)."""
    return throttle_key(_client(request, tuple(trusted)))


def _client(request: web.Request, nets: tuple[Network, ...]) -> str:
    peer = request.remote or "?"
    if not nets or not _trusted(peer, nets):
        return peer
    chain: list[str | None] = []
    if "Forwarded" in request.headers:
        chain = [_ip(str(f.get("for", ""))) for f in request.forwarded if "for" in f]
    elif "X-Forwarded-For" in request.headers:
        chain = [_ip(x) for h in request.headers.getall("X-Forwarded-For")
                 for x in h.split(",")]
    for addr in reversed(chain):
        if addr is None:  # a hop the trusted proxy could not name: stop at the proxy
            return peer
        if not _trusted(addr, nets):
            return addr
    return chain[0] or peer if chain else peer
