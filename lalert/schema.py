"""Validation of an alert's JSON form against the published schema (docs/alert.schema.json)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "docs" / "alert.schema.json"


@lru_cache(maxsize=1)
def alert_schema() -> dict[str, Any]:
    try:
        return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    except FileNotFoundError:  # installed without the source tree
        return json.loads(resources.files("lalert").joinpath("alert.schema.json").read_text("utf-8"))


def validation_errors(doc: dict[str, Any]) -> list[str]:
    """Every schema violation as 'path: message' (empty list when valid)."""
    from jsonschema import Draft202012Validator

    v = Draft202012Validator(alert_schema())
    return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(doc)]
