"""Bytes an operator previewed, held until they confirm (or the hold expires).

A preview is parsed and shown but not journaled; confirming must send exactly the bytes
that were shown, by the operator who saw them. So the bytes stay on the server under a
random token (never round-tripped through the form), bounded in number and age so that
abandoned previews cannot grow memory.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict

PENDING_MAX = 64  # previews held at once (oldest dropped first)
PENDING_TTL = 1800.0  # seconds a preview may wait for its confirmation


class PreviewStore:
    """Token → (operator, raw bytes), oldest first; ``take`` hands a hold out once."""

    def __init__(self, max_items: int = PENDING_MAX, ttl: float = PENDING_TTL) -> None:
        self.max_items = max_items
        self.ttl = ttl
        self._held: OrderedDict[str, tuple[str, bytes, float]] = OrderedDict()

    def put(self, operator: str, raw: bytes) -> str:
        """Hold ``raw`` for ``operator``; returns the token the confirmation form carries."""
        now = time.monotonic()
        for k, (_, _, at) in list(self._held.items()):
            if now - at > self.ttl:
                del self._held[k]
        token = secrets.token_urlsafe(16)
        self._held[token] = (operator, raw, now)
        while len(self._held) > self.max_items:
            self._held.popitem(last=False)
        return token

    def take(self, token: str, operator: str) -> bytes | None:
        """The held bytes if ``token`` is live and was held for ``operator``; spends it."""
        held = self._held.get(token)
        if held is None or held[0] != operator or time.monotonic() - held[2] > self.ttl:
            return None
        del self._held[token]
        return held[1]

    def __len__(self) -> int:
        return len(self._held)
