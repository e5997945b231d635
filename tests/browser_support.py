"""Shared pieces of the headless-Chromium tests (desk, signage): where Chromium and
axe-core are, the launch arguments, a loopback-only request guard and the axe check."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "tests" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
LOOPBACK = ("http://127.0.0.1:", "data:")

# Shelters on the map: markers drawn one by one plus the counts written on cluster icons.
SHELTERS_SHOWN = """() => {
  const one = document.querySelectorAll(".leaflet-marker-icon.mk:not(.wifi)").length;
  let inClusters = 0;
  for (const c of document.querySelectorAll(".leaflet-marker-icon.mk-cluster")) {
    inClusters += Number(c.textContent);
  }
  return one + inClusters;
}"""

needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed")
needs_axe = pytest.mark.skipif(not AXE.exists(), reason="axe-core not installed (npm ci)")


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (sync Playwright API) for a module-scoped fixture."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def keep_on_loopback(ctx: Any) -> tuple[list[str], list[str]]:
    """Route every request of the browser context ``ctx``: loopback and ``data:`` go
    through, anything else is refused. Returns the lists (filled as the page runs) of
    every URL requested and of the refused ones."""
    seen: list[str] = []
    outside: list[str] = []

    def route(r: Any) -> None:
        seen.append(r.request.url)
        if r.request.url.startswith(LOOPBACK):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    ctx.route("**/*", route)
    return seen, outside


def axe_violations(pg: Any) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    pg.add_script_tag(path=str(AXE))
    res = pg.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [f"{v['id']} ({v['impact']}): {v['help']} @ {[n['target'] for n in v['nodes'][:3]]}"
            for v in res if v["impact"] in ("serious", "critical")]
