"""What the bus carries: one numbered change of the active set, and who receives it.

These are core types: the pipeline makes ``AlertChange``s, the bus and the stores carry
and log them, outputs act on them. They live here, below all of those, so that storage and
transport never import the outputs package to name what they move.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from lalert.model import EnrichedAlert

ChangeKind = Literal["new", "updated", "withdrawn"]


@dataclass(frozen=True)
class AlertChange:
    """One change of the active set, in the order the lifecycle decided it.

    ``seq`` grows by one per change and survives restarts (it is the SSE event id and the
    outbox key); ``reason`` is the lifecycle's word: issue | update | correction |
    cancel | expired | superseded. ``alert`` is the version now in force, or for
    ``withdrawn`` the last version (a cancel message's alert when there is one).
    ``drill`` is True for exercise / test messages, which public outputs must skip unless
    configured for drills.
    """

    seq: int
    kind: ChangeKind
    reason: str
    alert: EnrichedAlert
    drill: bool = False
    at: str = ""
    # Encodings derived from this change (the push body …), made once by the first output
    # that needs one and shared by the rest: the bus hands every output the same object.
    memo: dict[str, object] = field(default_factory=dict, compare=False, repr=False)


class ChangeHandler(Protocol):
    """What the bus delivers to: every output is one (``lalert.outputs.base.Output``).

    The bus needs only a name (its cursor and consumer-group key) and ``handle``; it
    looks up the optional ``handle_batch`` and ``broadcast`` attributes by name.
    """

    name: str

    async def handle(self, change: AlertChange) -> None:
        """Called once per change in ``seq`` order; must be idempotent per ``seq``."""
