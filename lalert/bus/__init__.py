"""Carries numbered alert changes to outputs (in-process by default)."""

from lalert.bus.memory import Bus
from lalert.bus.view import ActiveView

__all__ = ["Bus", "ActiveView"]
