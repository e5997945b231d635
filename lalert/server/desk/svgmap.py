"""The desk's small overview map: every active footprint as SVG, drawn on the server.

No tile server and no script are needed (the desk must work offline and on the worst
day). The extent is a prefecture at most, so a local equirectangular projection scaled
by cos φ at the centre is accurate enough to see which areas are covered.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import shapely
from shapely.geometry import shape


@dataclass(frozen=True)
class MapItem:
    number: int  # matches the numbered list beside the map
    footprint: dict[str, Any] | None
    colour: str
    label: str


def _ring(coords: Any) -> str:
    pts = [f"{x:.1f} {y:.1f}" for x, y in list(coords)[:-1]]
    return ("M" + "L".join(pts) + "Z") if len(pts) >= 3 else ""


def _path(geom: Any) -> str:
    out = []
    for p in getattr(geom, "geoms", [geom]):
        if p.geom_type == "Polygon":
            out.append(_ring(p.exterior.coords))
            out.extend(_ring(r.coords) for r in p.interiors)
        elif hasattr(p, "geoms"):
            out.append(_path(p))
    return "".join(out)


def render(items: Sequence[MapItem], *, width: int = 640, height: int = 420,
           label: str = "map", empty_text: str = "") -> str:
    shapes: list[tuple[MapItem, Any]] = []
    for it in items:
        if not it.footprint:
            continue
        try:
            g = shape(it.footprint)
        except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.GEOSException):
            continue
        if not g.is_empty:
            shapes.append((it, g))
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="deskmap" viewBox="0 0 {width} '
            f'{height}" role="img" aria-label="{escape(label)}">'
            f'<rect width="{width}" height="{height}" fill="#eef2f4"/>')
    if not shapes:
        return (head + f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" '
                f'font-size="18" fill="#333">{escape(empty_text)}</text></svg>')
    w, s, e, n = shapely.union_all([g.envelope for _, g in shapes]).bounds
    lat0 = (s + n) / 2
    kx = math.cos(math.radians(lat0))
    span_x, span_y = max((e - w) * kx, 1e-4), max(n - s, 1e-4)
    pad = 24
    scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)
    ox = (width - span_x * scale) / 2
    oy = (height - span_y * scale) / 2

    def proj(c: Any) -> Any:
        out = c.copy()
        out[:, 0] = ox + (c[:, 0] - w) * kx * scale
        out[:, 1] = oy + (n - c[:, 1]) * scale
        return out

    parts = [head]
    labels = []
    # most severe is first in ``items``: draw it last so it stays on top
    for it, g in reversed(shapes):
        pg = shapely.transform(g.simplify(span_y / 2000), proj)
        d = _path(pg)
        if not d:
            continue
        col = escape(it.colour)
        parts.append(f'<path d="{d}" fill="{col}" fill-opacity="0.45" stroke="#222" '
                     f'stroke-width="1.5" fill-rule="evenodd"><title>{escape(it.label)}</title>'
                     f'</path>')
        pt = pg.representative_point()
        labels.append(
            f'<g class="num"><circle cx="{pt.x:.1f}" cy="{pt.y:.1f}" r="13" fill="#fff" '
            f'stroke="#222" stroke-width="2"/><text x="{pt.x:.1f}" y="{pt.y + 5:.1f}" '
            f'text-anchor="middle" font-size="14" font-weight="700" fill="#000">{it.number}'
            f'</text></g>')
    parts.extend(labels)
    parts.append("</svg>")
    return "".join(parts)
