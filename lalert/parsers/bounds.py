"""One pass over parsed alerts that bounds every string from the message.

Run by ``lalert.parsers.parse`` on whatever a format module returns, so each format
stays free of length checks and no output ever carries megabytes from one field. The
limits and the marker are in ``lalert.vocab.limits``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from lalert.model import Alert
from lalert.parsers.xmlsafe import ParseError
from lalert.vocab.limits import (
    ID_MAX,
    IDENTIFIERS,
    OTHER_MAX,
    TEXT_LIMITS,
    TRUNCATION_MARKER,
)

# never bounded: our own values (digests, enumerations), not free text from a message
_SKIP = frozenset({"raw_sha256", "format", "geometry"})


def cut(text: str, limit: int) -> str:
    """``text`` itself when within ``limit``, else its start and the marker (``limit`` long)."""
    if len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATION_MARKER)] + TRUNCATION_MARKER


class _Pass:
    def __init__(self, source: str) -> None:
        self.source = source
        self.truncated: list[str] = []

    def value(self, v: Any, field: str, path: str) -> Any:
        if isinstance(v, str):
            if field in IDENTIFIERS:
                if len(v) > ID_MAX:
                    raise ParseError(f"{path} is {len(v):,} characters, over the {ID_MAX}-"
                                     "character bound for identifiers and codes",
                                     source=self.source)
                return v
            limit = TEXT_LIMITS.get(field, OTHER_MAX)
            if len(v) > limit:
                self.truncated.append(path)
                return cut(v, limit)
            return v
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return self.record(v, path)
        if isinstance(v, dict):
            out = {k: self.value(x, str(k), f"{path}.{k}") for k, x in v.items()
                   if k not in _SKIP}
            return {**{k: v[k] for k in v if k in _SKIP}, **out}
        if isinstance(v, tuple | list):
            out_seq = [self.value(x, field, f"{path}[{i}]") for i, x in enumerate(v)]
            return type(v)(out_seq)
        return v

    def record(self, obj: Any, path: str) -> Any:
        changes = {}
        for f in dataclasses.fields(obj):
            if f.name in _SKIP:
                continue
            old = getattr(obj, f.name)
            new = self.value(old, f.name, f"{path}.{f.name}" if path else f.name)
            if new is not old and new != old:
                changes[f.name] = new
        return dataclasses.replace(obj, **changes) if changes else obj


def bound_alert(alert: Alert, *, source: str = "<bytes>") -> Alert:
    """``alert`` with every string within its limit; truncated fields are listed in
    ``details["truncated"]``. Raises ``ParseError`` for an over-long identifier."""
    p = _Pass(source)
    out = p.record(alert, "")
    if p.truncated:
        out = dataclasses.replace(out, details={**out.details, "truncated": p.truncated})
    return out
