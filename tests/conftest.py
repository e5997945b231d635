"""Shared test settings: where the real-data corpus is (one setting, LALERT_CORPUS), and
strict runs where nothing may be missing.

A strict run (``CI=true``, or ``LALERT_TESTS_STRICT=1`` as ``scripts/test.sh`` sets) turns
every skip into a failure: a missing corpus, browser, server or npm module must fail CI,
not leave it green with whole suites unrun. A skip whose reason starts with ``n/a:`` says
the case does not apply to that parameter (not that something is missing) and stays a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("LALERT_CORPUS", ROOT.parent / "shared" / "corpus")).resolve()
STRICT = os.environ.get("CI") == "true" or os.environ.get("LALERT_TESTS_STRICT") == "1"
NOT_APPLICABLE = "n/a:"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not (STRICT and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if reason.removeprefix("Skipped: ").startswith(NOT_APPLICABLE):
        return
    report.outcome = "failed"
    report.longrepr = f"skipped in a strict run (LALERT_TESTS_STRICT / CI): {reason}"


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared corpus, or a skip saying exactly what is missing."""
    if not (CORPUS / "xml").is_dir():
        pytest.skip(f"corpus not found at {CORPUS} (set LALERT_CORPUS to its path)")
    return CORPUS


@pytest.fixture(scope="session")
def jma_geo(corpus, tmp_path_factory):
    """The geodata of JMA's 1,788 warning areas (corpus jma-areas, every 市町村等 of
    Japan), imported once as ``lalert data import`` would: real telegrams enrich over it."""
    from lalert.geo.store import import_sources, load_geodata

    db = tmp_path_factory.mktemp("jma_geo") / "geo.gpkg"
    report = import_sources(db, [corpus / "geo" / "jma-areas" / "jma_city_areas.geojson"],
                            progress=False)
    assert report.errors == 0
    return load_geodata(db)


def corpus_files(sub: str, *patterns: str) -> list[Path]:
    """Corpus files for parametrising at collection time (empty when absent)."""
    base = CORPUS / sub
    if not base.is_dir():
        return []
    out: list[Path] = []
    for pat in patterns or ("*",):
        out.extend(sorted(base.glob(pat)))
    return out
