"""How parsed alerts and enriched alerts are cached in the SQLite files.

A cache, not a record: the journal's raw bytes are the record and ``lalert replay``
rebuilds everything from them. The cache is a pickle (C-speed both ways, ~50x faster
than the JSON form on large JMA telegrams), marked with a version line; anything that
does not unpickle into the current classes (an upgrade changed them) decodes to None
and the caller re-parses or re-enriches. JSON written by older versions is still read.
The files live in the daemon's own home: whoever can write them controls the daemon
anyway, so unpickling them adds no exposure.
"""

from __future__ import annotations

import json
import pickle
from typing import Any

from lalert.model import Alert, EnrichedAlert

MARK = b"lalert-pickle/1\n"


def encode(obj: Any) -> bytes:
    return MARK + pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def _unpickle(stored: Any) -> Any:
    if isinstance(stored, bytes) and stored.startswith(MARK):
        try:
            return pickle.loads(stored[len(MARK):])
        except Exception:  # classes changed since it was written: caller rebuilds
            return None
    return _JSON


_JSON = object()


def decode_alerts(stored: Any) -> list[Alert] | None:
    if stored is None:
        return None
    obj = _unpickle(stored)
    if obj is _JSON:
        try:
            return [Alert.from_dict(d) for d in json.loads(stored)]
        except (ValueError, TypeError, KeyError):
            return None
    if isinstance(obj, list) and all(isinstance(a, Alert) for a in obj):
        return obj
    return None


def decode_enriched(stored: Any) -> EnrichedAlert | None:
    obj = _unpickle(stored)
    if obj is _JSON:
        try:
            return EnrichedAlert.from_dict(json.loads(stored))
        except (ValueError, TypeError, KeyError):
            return None
    return obj if isinstance(obj, EnrichedAlert) else None
