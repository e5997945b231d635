"""What a validator reports: one problem, where it is, how bad it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lxml import etree

from lalert.parsers.xmlsafe import local

Level = Literal["error", "warning", "note"]


@dataclass(frozen=True)
class Problem:
    """``severity``: ``error`` makes the message invalid; ``warning`` is worth fixing but
    lalert reads the message anyway; ``note`` says how the check was done."""

    line: int | None
    path: str
    message: str
    severity: Level = "error"

    def format(self, source: str) -> str:
        """``FILE:LINE: message`` (warnings and notes say so before the message)."""
        where = f"{source}:{self.line}" if self.line else source
        tag = "" if self.severity == "error" else f"{self.severity}: "
        at = f" [{self.path}]" if self.path else ""
        return f"{where}: {tag}{self.message}{at}"


def el_path(el: etree._Element | None) -> str:
    """``/alert/info[1]/area[2]`` by local names, whatever the prefixes."""
    if el is None:
        return ""
    parts: list[str] = []
    while el is not None:
        name = local(el.tag)
        parent = el.getparent()
        if parent is not None:
            same = [c for c in parent if local(c.tag) == name]
            if len(same) > 1:
                name += f"[{same.index(el) + 1}]"
        parts.append(name)
        el = parent
    return "/" + "/".join(reversed(parts))


def problem(el: etree._Element | None, message: str, severity: Level = "error") -> Problem:
    return Problem(el.sourceline if el is not None else None, el_path(el), message, severity)


def is_valid(problems: list[Problem]) -> bool:
    return not any(p.severity == "error" for p in problems)
