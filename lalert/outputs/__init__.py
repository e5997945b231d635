"""Outputs: signage, map, tiles, feeds, webhook, webpush, mqtt, sse — one interface."""

from lalert.outputs.base import AlertChange, BaseOutput, Output, OutputContext

__all__ = ["AlertChange", "BaseOutput", "Output", "OutputContext"]
