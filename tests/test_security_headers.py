"""The one policy builder: configured base-map origins and framing reach the headers."""

from __future__ import annotations

from lalert.config import load_config
from lalert.server import security


def headers(env: dict[str, str]) -> dict[str, dict[str, str]]:
    return security._headers(load_config(env=env))


def policy(h: dict[str, str]) -> dict[str, str]:
    return {d.split(" ", 1)[0]: d for d in h["Content-Security-Policy"].split("; ")}


def test_defaults_forbid_inline_script_and_framing():
    h = headers({})["public"]
    p = policy(h)
    assert p["script-src"] == "script-src 'self'"
    assert p["default-src"] == "default-src 'self'"
    assert p["frame-ancestors"] == "frame-ancestors 'none'" and h["X-Frame-Options"] == "DENY"
    assert h["X-Content-Type-Options"] == "nosniff" and h["Referrer-Policy"]
    assert p["img-src"] == "img-src 'self' data: blob:"  # no base map: nothing outside


def test_basemap_and_frame_ancestors_come_from_config():
    h = headers({
        "LALERT_MAP__BASEMAP": "https://tiles.example.jp/{z}/{x}/{y}.png",
        "LALERT_MAP__ATTRIBUTION": "Example tiles",
        "LALERT_HTTP__IMG_SRC": '["https://img.example.org:8443/x", "ftp://nope"]',
        "LALERT_HTTP__FRAME_ANCESTORS": '["https://players.example.jp", "self"]',
    })
    p = policy(h["public"])
    assert "https://tiles.example.jp" in p["img-src"]
    assert "https://img.example.org:8443" in p["img-src"]
    assert "ftp" not in p["img-src"]
    assert p["frame-ancestors"] == "frame-ancestors https://players.example.jp 'self'"
    assert "X-Frame-Options" not in h["public"]  # it cannot name two origins; CSP does
    desk = policy(h["desk"])
    assert desk["frame-ancestors"] == "frame-ancestors 'none'"  # the desk never framed
    assert h["desk"]["X-Frame-Options"] == "DENY"
