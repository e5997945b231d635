"""Where push deliveries may go: public addresses only, unless a deployment widens it.

Webhook URLs (token holders) and Web Push endpoints (anyone) name hosts that lalert will
POST to. Without a guard that is SSRF: ``http://169.254.169.254/`` (cloud metadata),
``http://127.0.0.1:6379/`` or any private service. So every destination must be a
*public* address (``ipaddress``' ``is_global``, not multicast; an IPv4-mapped, NAT64 or
6to4 IPv6 address is judged by the IPv4 address inside it), or inside
``[push] allow_destinations`` (CIDRs; ``LALERT_PUSH__ALLOW_DESTINATIONS``).

It is checked twice: at registration (``check_url``: every address the name resolves to
now), and again at connect time on the socket lalert actually opens (``guarded_session``:
aiohttp's ``socket_factory`` sees the resolved address of each attempt), so a name that
resolves to a public address at registration and to ``127.0.0.1`` later (DNS rebinding)
still cannot reach a private one.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class DestinationRefused(OSError):
    """A destination outside the public Internet and outside ``allow_destinations``."""


def networks(cidrs: Iterable[str] | str | None) -> tuple[Network, ...]:
    """``["127.0.0.0/8", "::1/128"]`` (or a comma list) → networks; a bad entry raises
    ``ValueError`` naming it (a configuration mistake must not widen anything silently)."""
    if cidrs is None:
        return ()
    if isinstance(cidrs, str):
        cidrs = [c.strip() for c in cidrs.split(",") if c.strip()]
    out = []
    for c in cidrs:
        try:
            out.append(ipaddress.ip_network(str(c).strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"[push] allow_destinations: {c!r} is not a CIDR") from exc
    return tuple(out)


def allowed_networks(settings: Mapping[str, Any]) -> tuple[Network, ...]:
    """The ``[push] allow_destinations`` of the daemon's settings (``ctx.settings``)."""
    push = settings.get("push") if isinstance(settings, Mapping) else None
    return networks((push or {}).get("allow_destinations") if isinstance(push, Mapping) else None)


def _inner(ip: Address) -> Address:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4), else ``ip``."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.sixtofour is not None:
            return ip.sixtofour
    return ip


def refusal(ip: str | Address, allow: Iterable[Network] = ()) -> str | None:
    """Why ``ip`` may not be a destination, or None when it may."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0] if isinstance(ip, str) else ip)
    except ValueError:
        return f"{ip} is not an IP address"
    for a in {addr, _inner(addr)}:
        if any(a.version == n.version and a in n for n in allow):
            return None
    inner = _inner(addr)
    for a in dict.fromkeys([inner, addr]):  # the IPv4 inside first: it names the place
        if a.is_multicast or not a.is_global:
            kind = ("loopback" if a.is_loopback else "link-local" if a.is_link_local
                    else "multicast" if a.is_multicast else "private" if a.is_private
                    else "reserved")
            shown = f"{addr} ({inner})" if inner != addr else str(addr)
            return (f"{shown} is a {kind} address; only public destinations are allowed "
                    "(a deployment may widen this with [push] allow_destinations)")
    return None


async def check_url(url: str, allow: Iterable[Network] = (), *, schemes: tuple[str, ...] = (
        "http", "https")) -> str | None:
    """Why ``url`` may not be a destination (scheme, host, every address it resolves to
    now), or None. Registration-time check; ``guarded_session`` checks again on connect."""
    parts = urlsplit(url)
    if parts.scheme not in schemes:
        return f"the URL must be {' or '.join(schemes)}"
    host = parts.hostname
    if not host:
        return "the URL has no host"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "the URL's port is not a number"
    allow = tuple(allow)
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        literal = True
    except ValueError:
        literal = False
    if literal:
        return refusal(host, allow)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        return f"the host {host!r} does not resolve ({exc})"
    for info in infos:
        why = refusal(str(info[4][0]), allow)
        if why:
            return f"{host} resolves to {why}"
    return None if infos else f"the host {host!r} does not resolve"


def socket_factory(allow: Iterable[Network]) -> Any:
    """An aiohttp ``socket_factory`` that refuses to open a socket to a refused address:
    the connect-time check, on the address actually dialled (after DNS)."""
    allow = tuple(allow)

    def make(addr_info: tuple[Any, ...]) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        why = refusal(str(sockaddr[0]), allow)
        if why:
            # (errno, text): aiohttp shows the text in ClientConnectorError, so the
            # delivery log says why
            raise DestinationRefused(errno.EACCES, f"destination refused: {why}")
        return socket.socket(family=family, type=type_, proto=proto)

    return make


def guarded_connector(allow: Iterable[Network], **kw: Any) -> aiohttp.TCPConnector:
    """A ``TCPConnector`` whose every connection goes through ``socket_factory``."""
    return aiohttp.TCPConnector(socket_factory=socket_factory(allow), **kw)
