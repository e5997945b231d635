"""A small server-side SVG map: the alert's area, the screen's own position, shelters.

Signage players must show a map with no tile server and no network, so the map is drawn
here from geometry alone. The extent is a few kilometres around the screen, so a local
equirectangular projection (metres east / north of the screen, scaled by cos φ) is
accurate to well under 1 % and needs no projection library per point.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

import shapely
from shapely.geometry import box, shape

M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQ = 111_320.0
NICE = (50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000)


def _nice_scale(width_m: float) -> int:
    target = width_m / 4
    return min(NICE, key=lambda n: abs(n - target))


def render_map(
    lat: float,
    lon: float,
    *,
    footprint: dict[str, Any] | None = None,
    shelters: Sequence[dict[str, Any]] = (),
    colour: str | None = None,
    width: int = 600,
    height: int = 600,
    label: str = "地図 Map",
    min_half_m: float = 400.0,
) -> str:
    """SVG text; shelters are dicts with ``lat``, ``lon``, ``open`` and are numbered 1..n."""
    kx = M_PER_DEG_LON_EQ * math.cos(math.radians(lat))
    ky = M_PER_DEG_LAT
    pts = [((s["lon"] - lon) * kx, (s["lat"] - lat) * ky) for s in shelters]
    half = max([min_half_m, *(max(abs(x), abs(y)) for x, y in pts)]) * 1.2
    aspect = width / height
    half_x, half_y = (half * aspect, half) if aspect >= 1 else (half, half / aspect)
    sx = width / (2 * half_x)  # px per metre (same both ways: conformal enough here)

    def to_px(x: float, y: float) -> tuple[float, float]:
        return (width / 2 + x * sx, height / 2 - y * sx)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="map" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(label)}">',
        f'<rect width="{width}" height="{height}" fill="#eef2f4"/>',
    ]
    if footprint:
        try:
            geom = shape(footprint)
            view = box(lon - half_x / kx, lat - half_y / ky, lon + half_x / kx, lat + half_y / ky)
            clipped = geom.intersection(view)
        except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.GEOSException):
            clipped = None
        if clipped is not None and not clipped.is_empty:
            projected = shapely.transform(
                clipped, lambda c: _project(c, lat, lon, kx, ky, width, height, sx)
            )
            d = _path(projected)
            if d:
                fill = escape(colour or "#aa00aa")
                parts.append(
                    f'<path d="{d}" fill="{fill}" fill-opacity="0.35" stroke="{fill}" '
                    f'stroke-width="4" fill-rule="evenodd"/>'
                )
    # scale bar and north arrow: language-neutral
    scale = _nice_scale(2 * half_x)
    bar = scale * sx
    y0 = height - 24
    parts.append(
        f'<g class="scale"><rect x="16" y="{y0 - 26}" width="{bar + 24:.0f}" height="40" '
        f'fill="#fff" opacity="0.85"/><path d="M28 {y0}h{bar:.1f}" stroke="#000" '
        f'stroke-width="5"/><text x="28" y="{y0 - 8}" font-size="20">'
        f'{scale if scale < 1000 else scale // 1000} {"m" if scale < 1000 else "km"}</text></g>'
    )
    parts.append(
        f'<g class="north" transform="translate({width - 40},44)"><path d="M0 -26L12 10L0 2L-12 10Z" '
        f'fill="#000"/><text y="32" text-anchor="middle" font-size="20">N</text></g>'
    )
    for i, ((x, y), s) in enumerate(zip(pts, shelters, strict=True), start=1):
        px, py = to_px(x, y)
        fill = "#00695c" if s.get("open") else "#5f6368"
        parts.append(
            f'<g class="shelter"><circle cx="{px:.1f}" cy="{py:.1f}" r="22" fill="{fill}" '
            f'stroke="#fff" stroke-width="4"/><text x="{px:.1f}" y="{py + 8:.1f}" '
            f'text-anchor="middle" font-size="24" font-weight="700" fill="#fff">{i}</text></g>'
        )
    cx, cy = to_px(0, 0)
    parts.append(
        f'<g class="here"><circle cx="{cx:.1f}" cy="{cy:.1f}" r="30" fill="#fff" opacity="0.9"/>'
        f'<path d="{_star(cx, cy, 26, 11)}" fill="#0047ab" stroke="#fff" stroke-width="3"/></g>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _project(c, lat, lon, kx, ky, width, height, sx):  # noqa: ANN001 - numpy array in/out
    out = c.copy()
    out[:, 0] = width / 2 + (c[:, 0] - lon) * kx * sx
    out[:, 1] = height / 2 - (c[:, 1] - lat) * ky * sx
    return out


def _ring(coords: Any) -> str:
    pts = [f"{x:.1f} {y:.1f}" for x, y in list(coords)[:-1]]
    return ("M" + "L".join(pts) + "Z") if len(pts) >= 3 else ""


def _path(geom: Any) -> str:
    polys = getattr(geom, "geoms", [geom])
    d = []
    for p in polys:
        if p.geom_type == "Polygon":
            d.append(_ring(p.exterior.coords))
            d.extend(_ring(r.coords) for r in p.interiors)
        elif p.geom_type in ("MultiPolygon", "GeometryCollection"):
            d.append(_path(p))
    return "".join(d)


def _star(cx: float, cy: float, r_out: float, r_in: float) -> str:
    pts = []
    for k in range(10):
        r = r_out if k % 2 == 0 else r_in
        a = math.pi / 2 + k * math.pi / 5
        pts.append(f"{cx + r * math.cos(a):.1f} {cy - r * math.sin(a):.1f}")
    return "M" + "L".join(pts) + "Z"
