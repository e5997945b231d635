"""Daemon configuration: defaults < TOML file < ``LALERT_…`` environment < command line.

Every setting has a path in the TOML tree, and the environment variable for it is that
path in upper case with ``__`` between levels: ``port`` → ``LALERT_PORT``,
``ingest.max_message_bytes`` → ``LALERT_INGEST__MAX_MESSAGE_BYTES``,
``outputs.webhook.url`` → ``LALERT_OUTPUTS__WEBHOOK__URL``. Values are read as TOML
values when they parse (``9000``, ``true``, ``["a", "b"]``), else as strings; a comma
list is accepted where a list is expected. ``LALERT_INGEST_TOKEN`` adds one ingest token
named ``env``.

Sections (see ``lalert/demo/lalert.toml`` for a commented example)::

    home, host, port, base_url, store (``sqlite`` | ``sqlite:///DIR`` | ``postgresql://…``),
    bus (``memory`` | ``redis://…``)  (see ``lalert.store.registry``, ``lalert.bus.registry``)
    [ingest]   max_message_bytes, parse_workers (``lalert.parsepool``),
               [[ingest.tokens]] name / token
    [spool]    enabled, interval
    [poller]   enabled, allow_hosts, [[poller.feeds]] url / name / long / interval /
               silence_after
    [geo]      path, region (prefecture codes like ``["43"]`` or a bbox
               ``[west, south, east, north]``; default: the imported geodata's extent)
    [map]      basemap (a raster tile URL template ``…/{z}/{x}/{y}.png`` or a local
               ``.pmtiles`` file; empty: no base map, offline), attribution,
               attribution_url, max_zoom  (see ``Basemap``)
    [lifecycle] expiry_interval, stale_after (desk flags alerts not updated for this long),
               [lifecycle.lifetimes] key = duration (overrides ``lalert.vocab.lifetimes``)
    [outputs]  enabled = [...]; [outputs.<name>] passed to that output as ctx.config
               (``drills = true`` lets exercise / test changes reach it)
    [push]     allow_destinations (CIDRs push may reach besides public addresses),
               lease_s, poll_s, subscribe_rate / subscribe_window_s (anonymous, global)
    [http]     trusted_proxies (CIDRs whose X-Forwarded-For / Forwarded name the client),
               keepalive_timeout, body_timeout_s (anonymous bodies: the login form, Web
               Push sign-ups, must arrive within this; default 20)
    anything else (``[signage]``, ``[desk]``, ...) is kept in ``Config.raw`` for the
    parts that read it.
"""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from lalert.vocab.lifetimes import lifetimes_with, parse_duration

ENV_PREFIX = "LALERT_"
JMA_FEED_BASE = "https://www.data.jma.go.jp/developer/xml/feed/"

# JMA's 高頻度 feeds (updated every minute, last ~10 minutes) and 長期 feeds (several
# days, used to back-fill on start). https://xml.kishou.go.jp/xmlpull.html
DEFAULT_FEEDS: list[dict[str, Any]] = [
    {"name": f"jma-{n}", "url": f"{JMA_FEED_BASE}{n}.xml", "long": False, "interval": 60,
     "silence_after": s}
    for n, s in (("regular", 3600), ("extra", 6 * 3600), ("eqvol", 24 * 3600),
                 ("other", 24 * 3600))
] + [
    {"name": f"jma-{n}_l", "url": f"{JMA_FEED_BASE}{n}_l.xml", "long": True, "interval": 600,
     "silence_after": 24 * 3600}
    for n in ("regular", "extra", "eqvol", "other")
]

DEFAULT_OUTPUTS = ["signage", "map", "tiles", "feeds", "sse"]

DEFAULTS: dict[str, Any] = {
    "home": "./lalert-home",
    "host": "127.0.0.1",
    "port": 8080,
    "base_url": "",
    "store": "sqlite",
    "bus": "memory",
    "ingest": {"max_message_bytes": 10 * 1024 * 1024, "tokens": []},
    "spool": {"enabled": True, "interval": 0.5},
    "poller": {"enabled": True, "allow_hosts": [], "feeds": DEFAULT_FEEDS},
    "geo": {"path": "", "region": []},
    "map": {"basemap": "", "attribution": "", "attribution_url": "", "max_zoom": 18},
    "lifecycle": {"expiry_interval": 5.0, "stale_after": "24h", "lifetimes": {}},
    "outputs": {"enabled": DEFAULT_OUTPUTS},
    # CIDRs push deliveries may reach besides public addresses (lalert.outputs.netguard)
    "push": {"allow_destinations": []},
    # CIDRs of reverse proxies whose X-Forwarded-For / Forwarded name the client
    "http": {"trusted_proxies": []},
}


@dataclass(frozen=True)
class IngestToken:
    name: str
    token: str


@dataclass(frozen=True)
class FeedConfig:
    url: str
    name: str
    long: bool = False
    interval: float = 60.0
    silence_after: float = 3600.0


# The usual base map for Japan: GSI's 淡色地図 (pale map), free with attribution
# (https://maps.gsi.go.jp/development/ichiran.html). Documented, never the default: the
# daemon must run offline, and a public map must not depend on someone else's server.
GSI_PALE_URL = "https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png"
GSI_ATTRIBUTION = "地理院タイル"
GSI_ATTRIBUTION_URL = "https://maps.gsi.go.jp/development/ichiran.html"


@dataclass(frozen=True)
class Basemap:
    """The public map's background (``[map]``): none (offline), a raster tile URL template,
    or a local ``.pmtiles`` archive that lalert serves itself under ``/basemap/``.

    ``attribution`` is plain text (the page escapes it), linked to ``attribution_url``.
    """

    kind: Literal["none", "xyz", "pmtiles"] = "none"
    url: str = ""  # xyz: the template; pmtiles: empty
    path: Path | None = None  # pmtiles: the archive
    attribution: str = ""
    attribution_url: str = ""
    max_zoom: int = 18

    @property
    def origin(self) -> str | None:
        """The one origin the map page loads base-map images from, for the page's
        Content-Security-Policy ``img-src`` (``None``: none, or lalert's own origin)."""
        if self.kind != "xyz":
            return None
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}" if parts.netloc else None


def body_timeout_s(tree: Mapping[str, Any]) -> float:
    """``[http] body_timeout_s`` from a settings tree (``Config.raw`` / ``ctx.settings``):
    how long a body sent before anyone is known (the desk login form, a Web Push sign-up)
    may take to arrive, 20 s by default.

    aiohttp bounds slow headers (``keepalive_timeout``) but not a body: a stranger who
    declares 16 KB and sends a byte every few seconds held a connection for hours, and
    enough of them take every file descriptor the daemon has."""
    http = tree.get("http")
    return float((http if isinstance(http, Mapping) else {}).get("body_timeout_s", 20))


def basemap_config(tree: Mapping[str, Any], home: Path | None = None) -> Basemap:
    """``[map]`` of a config tree as a ``Basemap``; ``ValueError`` says what is wrong."""
    sect = tree.get("map") or {}
    if not isinstance(sect, Mapping):
        raise ValueError("[map] must be a table")
    source = str(sect.get("basemap") or "").strip()
    attribution = str(sect.get("attribution") or "").strip()
    attribution_url = str(sect.get("attribution_url") or "").strip()
    max_zoom = int(sect.get("max_zoom", 18))
    if not 0 <= max_zoom <= 22:
        raise ValueError(f"[map] max_zoom {max_zoom} is outside 0–22")
    if attribution_url and urlsplit(attribution_url).scheme not in ("http", "https"):
        raise ValueError("[map] attribution_url must be an http(s) URL")
    if not source:
        return Basemap()
    if source.startswith(("http://", "https://")):
        if not all(k in source for k in ("{z}", "{x}", "{y}")):
            raise ValueError("[map] basemap must be a tile URL template with {z}, {x} and {y}")
        if not attribution:
            raise ValueError("[map] basemap needs its attribution (the tile provider's terms)")
        return Basemap("xyz", url=source, attribution=attribution,
                       attribution_url=attribution_url, max_zoom=max_zoom)
    if source.endswith(".pmtiles") and "://" not in source:
        path = Path(source).expanduser()
        if not path.is_absolute() and home is not None:
            path = home / path
        return Basemap("pmtiles", path=path, attribution=attribution,
                       attribution_url=attribution_url, max_zoom=max_zoom)
    raise ValueError(f"[map] basemap {source!r} is neither an http(s) tile URL template "
                     "nor a local .pmtiles file")


@dataclass
class Config:
    """Resolved settings. ``raw`` keeps the whole merged tree for other parts to read."""

    home: Path
    host: str
    port: int
    base_url: str
    store: str
    max_message_bytes: int
    ingest_tokens: list[IngestToken]
    spool_enabled: bool
    spool_interval: float
    poller_enabled: bool
    feeds: list[FeedConfig]
    allow_hosts: list[str]
    geo_path: Path | None
    expiry_interval: float
    outputs: list[str]
    lifetimes: dict[str, float | None] = field(default_factory=dict)  # the resolved table
    stale_after: float | None = 24 * 3600.0
    demo: bool = False
    bus: str = "memory"
    config_file: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    basemap: Basemap = field(default_factory=Basemap)

    def output_config(self, name: str) -> dict[str, Any]:
        """The ``[outputs.<name>]`` table (empty when absent)."""
        sect = self.raw.get("outputs", {}).get(name, {})
        return dict(sect) if isinstance(sect, Mapping) else {}

    def section(self, name: str) -> dict[str, Any]:
        sect = self.raw.get(name, {})
        return dict(sect) if isinstance(sect, Mapping) else {}

    @property
    def public_url(self) -> str:
        if self.base_url:
            return self.base_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def store_dir(self) -> Path:
        """Directory of the SQLite files (``store = "sqlite:///DIR"`` or the home)."""
        if self.store.startswith("sqlite:///"):
            return Path(self.store.removeprefix("sqlite:///"))
        if self.store in ("sqlite", ""):
            return self.home
        raise ValueError(f"store {self.store!r} keeps no files: only a sqlite store lives in a directory")

    @property
    def region(self) -> Region | None:
        """``[geo] region``: what the listing outputs show by default (None: the geodata's extent)."""
        return parse_region(self.raw.get("geo", {}).get("region"))

    @property
    def spool_dir(self) -> Path:
        return self.home / "spool"


@dataclass(frozen=True)
class Region:
    """The deployment's region: JIS prefecture codes ("43"), area codes keyed by their
    scheme ("lg_code:431001", drawn by the gazetteer), or a lon/lat bbox."""

    prefectures: tuple[str, ...] = ()
    bbox: tuple[float, float, float, float] | None = None
    areas: tuple[str, ...] = ()  # "scheme:code"


def parse_region(value: Any) -> Region | None:
    """``["43", "44"]``, ``"43,44"``, ``43``, ``["lg_code:431001"]`` or
    ``[129.9, 32.0, 131.4, 33.25]`` → ``Region``; empty → None. Anything else is a
    configuration error (ValueError), never a silent "all"."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, (int, str)):
        value = [v.strip() for v in str(value).split(",") if v.strip()]
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"[geo] region must be prefecture codes or a bbox, not {value!r}")
    if len(value) == 4 and any(isinstance(v, float) or (isinstance(v, int) and abs(v) > 47)
                               for v in value):
        w, s, e, n = (float(v) for v in value)
        if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
            raise ValueError(f"[geo] region bbox must be [west, south, east, north]: {value!r}")
        return Region(bbox=(w, s, e, n))
    refs = tuple(str(v).strip() for v in value if ":" in str(v))
    if any(not r.partition(":")[0] or not r.partition(":")[2] for r in refs):
        raise ValueError(f"[geo] region: area codes are written scheme:code: {value!r}")
    codes = tuple(str(v).strip().zfill(2) for v in value if ":" not in str(v))
    if not all(c.isdigit() and len(c) == 2 and 1 <= int(c) <= 47 for c in codes):
        raise ValueError(f"[geo] region: prefecture codes are 01–47 (JIS X 0401): {value!r}")
    return Region(prefectures=codes, areas=refs)


def load_config(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    demo: bool = False,
) -> Config:
    """Read ``path`` (TOML, optional), apply the environment and then ``overrides``."""
    tree = copy.deepcopy(DEFAULTS)
    cfg_file = Path(path).resolve() if path else None
    if cfg_file:
        with open(cfg_file, "rb") as fh:
            _merge(tree, tomllib.load(fh))
    apply_env(tree, os.environ if env is None else env)
    for k, v in (overrides or {}).items():
        if v is not None:
            _set_path(tree, k.split("."), v)
    return _resolve(tree, cfg_file, demo)


def apply_env(tree: dict[str, Any], env: Mapping[str, str]) -> None:
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        if name == "LALERT_INGEST_TOKEN":
            if value:
                tree["ingest"]["tokens"] = [*tree["ingest"]["tokens"],
                                            {"name": "env", "token": value}]
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX):].split("__") if p]
        if not parts or parts[0] == "corpus":  # LALERT_CORPUS belongs to the tests
            continue
        current = _get_path(tree, parts)
        _set_path(tree, parts, _env_value(value, current))


def _env_value(value: str, current: Any) -> Any:
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    if isinstance(current, list) and not isinstance(parsed, list):
        return [v.strip() for v in str(value).split(",") if v.strip()]
    if isinstance(current, str) and not isinstance(parsed, str):
        return value
    return parsed


def _merge(base: dict[str, Any], new: Mapping[str, Any]) -> None:
    for k, v in new.items():
        if isinstance(v, Mapping) and isinstance(base.get(k), dict):
            _merge(base[k], v)
        else:
            base[k] = copy.deepcopy(v)


def _get_path(tree: Mapping[str, Any], parts: list[str]) -> Any:
    node: Any = tree
    for p in parts:
        if not isinstance(node, Mapping) or p not in node:
            return None
        node = node[p]
    return node


def _set_path(tree: dict[str, Any], parts: list[str], value: Any) -> None:
    node = tree
    for p in parts[:-1]:
        nxt = node.get(p)
        if not isinstance(nxt, dict):
            nxt = node[p] = {}
        node = nxt
    node[parts[-1]] = value


def _bool(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("1", "true", "yes", "on")
    return bool(v)


def _resolve(tree: dict[str, Any], cfg_file: Path | None, demo: bool) -> Config:
    home = Path(str(tree["home"])).expanduser()
    if not home.is_absolute():
        home = (Path.cwd() / home).resolve()
    ingest = tree.get("ingest", {})
    tokens = []
    for t in ingest.get("tokens", []):
        if not t.get("token"):
            continue
        tokens.append(IngestToken(name=str(t.get("name") or "token"), token=str(t["token"])))
    poller = tree.get("poller", {})
    feeds = [
        FeedConfig(
            url=str(f["url"]), name=str(f.get("name") or f["url"]), long=_bool(f.get("long")),
            interval=float(f.get("interval", 60)), silence_after=float(f.get("silence_after", 3600)),
        )
        for f in poller.get("feeds", [])
        if isinstance(f, Mapping) and f.get("url")
    ]
    geo_path = str(tree.get("geo", {}).get("path") or "")
    lifecycle = tree.get("lifecycle", {})
    parse_region(tree.get("geo", {}).get("region"))  # a bad region fails at start, not later
    outputs = tree.get("outputs", {}).get("enabled", DEFAULT_OUTPUTS)
    if isinstance(outputs, str):
        outputs = [o.strip() for o in outputs.split(",") if o.strip()]
    return Config(
        home=home,
        host=str(tree["host"]),
        port=int(tree["port"]),
        base_url=str(tree.get("base_url") or ""),
        store=str(tree.get("store") or "sqlite"),
        max_message_bytes=int(ingest.get("max_message_bytes", 10 * 1024 * 1024)),
        ingest_tokens=tokens,
        spool_enabled=_bool(tree.get("spool", {}).get("enabled", True)),
        spool_interval=float(tree.get("spool", {}).get("interval", 0.5)),
        poller_enabled=_bool(poller.get("enabled", True)),
        feeds=feeds,
        allow_hosts=[str(h) for h in poller.get("allow_hosts", [])],
        geo_path=(Path(geo_path).expanduser() if geo_path else None),
        expiry_interval=float(lifecycle.get("expiry_interval", 5.0)),
        lifetimes=lifetimes_with(lifecycle.get("lifetimes") or {}),
        stale_after=parse_duration(lifecycle.get("stale_after", "24h")),
        outputs=[str(o) for o in outputs],
        demo=demo,
        bus=str(tree.get("bus") or "memory"),
        config_file=cfg_file,
        raw=tree,
        basemap=basemap_config(tree, home),
    )
