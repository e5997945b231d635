"""Shared test settings: where the real-data corpus is (one setting, LALERT_CORPUS)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("LALERT_CORPUS", ROOT.parent / "shared" / "corpus")).resolve()


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared corpus, or a skip saying exactly what is missing."""
    if not (CORPUS / "xml").is_dir():
        pytest.skip(f"corpus not found at {CORPUS} (set LALERT_CORPUS to its path)")
    return CORPUS


def corpus_files(sub: str, *patterns: str) -> list[Path]:
    """Corpus files for parametrising at collection time (empty when absent)."""
    base = CORPUS / sub
    if not base.is_dir():
        return []
    out: list[Path] = []
    for pat in patterns or ("*",):
        out.extend(sorted(base.glob(pat)))
    return out
