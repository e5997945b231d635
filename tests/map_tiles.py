"""Base-map tiles for the map tests, made here (no internet): PNG tiles, a loopback raster
tile server (aiohttp) standing in for 地理院タイル, and a small raster PMTiles archive."""

from __future__ import annotations

import re
import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import mercantile
from aiohttp import web
from aiohttp.test_utils import TestServer
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

# 熊本県 and a little around it (w, s, e, n)
KUMAMOTO = (129.9, 32.0, 131.4, 33.25)
TILE_RGB = (0xE8, 0xC8, 0x70)  # a sandy colour nothing else on the map uses


def png(rgb: tuple[int, int, int] = TILE_RGB, size: int = 256) -> bytes:
    """A solid-colour RGB PNG with a dark 2-pixel frame (tiles show as a grid on screenshots).

    Written with zlib and struct: Pillow is not a dependency and a test tile needs no more.
    """
    frame = bytes((60, 60, 60))
    fill = bytes(rgb)
    edge = b"\x00" + frame * size
    middle = b"\x00" + frame * 2 + fill * (size - 4) + frame * 2
    raw = edge * 2 + middle * (size - 4) + edge * 2

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 6))
            + chunk(b"IEND", b""))


class TileServer:
    """``GET /{z}/{x}/{y}.png`` on loopback: one PNG for every tile, each request recorded."""

    def __init__(self) -> None:
        self.requests: list[tuple[int, int, int]] = []
        self.body = png()
        app = web.Application()
        app.router.add_get(r"/{z:\d+}/{x:\d+}/{y:\d+}.png", self._tile)
        self.server = TestServer(app, host="127.0.0.1")

    async def _tile(self, request: web.Request) -> web.Response:
        m = request.match_info
        self.requests.append((int(m["z"]), int(m["x"]), int(m["y"])))
        return web.Response(body=self.body, content_type="image/png")

    async def __aenter__(self) -> TileServer:
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.close()

    @property
    def template(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/{{z}}/{{x}}/{{y}}.png"


class ThreadTileServer:
    """The same tile server for a test that is not async (a daemon in another process):
    the standard library's HTTP server in a thread, on loopback."""

    def __init__(self) -> None:
        self.requests: list[tuple[int, int, int]] = []
        body, seen = png(), self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server name
                m = re.fullmatch(r"/(\d+)/(\d+)/(\d+)\.png", self.path)
                if not m:
                    self.send_error(404)
                    return
                seen.append((int(m[1]), int(m[2]), int(m[3])))
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ThreadTileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def template(self) -> str:
        return self.origin + "/{z}/{x}/{y}.png"


def raster_pmtiles(path: Path, *, bounds=KUMAMOTO, minzoom: int = 5, maxzoom: int = 12) -> int:
    """A PMTiles v3 archive of PNG tiles covering ``bounds``; returns the tiles written."""
    body = png((0xC8, 0xE0, 0xB0))
    tiles = sorted(zxy_to_tileid(t.z, t.x, t.y)
                   for t in mercantile.tiles(*bounds, zooms=range(minzoom, maxzoom + 1)))
    w, s, e, n = bounds
    with open(path, "wb") as f:
        writer = Writer(f)
        for tileid in tiles:
            writer.write_tile(tileid, body)
        writer.finalize({
            "tile_type": TileType.PNG, "tile_compression": Compression.NONE,
            "min_lon_e7": int(w * 1e7), "min_lat_e7": int(s * 1e7),
            "max_lon_e7": int(e * 1e7), "max_lat_e7": int(n * 1e7),
            "center_zoom": minzoom, "center_lon_e7": int((w + e) / 2 * 1e7),
            "center_lat_e7": int((s + n) / 2 * 1e7),
        }, {"name": "test raster base map", "attribution": "lalert tests"})
    return len(tiles)
