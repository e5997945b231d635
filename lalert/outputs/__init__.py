"""Outputs: signage, map, tiles, feeds, webhook, webpush, mqtt, sse — one interface."""

from lalert.changes import AlertChange
from lalert.outputs.base import BaseOutput, Output, OutputContext

__all__ = ["AlertChange", "BaseOutput", "Output", "OutputContext"]
