"""The layer order of ``docs/architecture.md`` holds: no module imports from a higher layer.

The order is read from the document itself (the "Layers" section), so the map and the
test cannot drift apart. Every ``import`` counts — at the top, inside functions and under
``TYPE_CHECKING`` — because a function-level import is still a dependency, only a hidden
one. There is no list of exceptions: a knot is untied, not excused.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = ROOT / "docs" / "architecture.md"


@dataclass(frozen=True)
class Violation:
    importer: str
    imported: str
    line: int
    importer_layer: str
    imported_layer: str

    def __str__(self) -> str:
        return (f"{self.importer}:{self.line} ({self.importer_layer}) imports {self.imported} "
                f"({self.imported_layer}), a higher layer")


def read_layers(markdown: str) -> list[tuple[str, list[str]]]:
    """``(layer name, module prefixes)`` lowest first, from the numbered list under
    ``## Layers``: ``1. **core** — `lalert.model`, `lalert.vocab` …``."""
    section = markdown.split("## Layers", 1)[1].split("\n## ", 1)[0]
    layers = []
    for line in section.splitlines():
        m = re.match(r"\d+\. \*\*(.+?)\*\*(.*)", line.strip())
        if m:
            layers.append((m.group(1), re.findall(r"`(lalert[\w.]*)`", m.group(2))))
    return layers


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, module: str) -> list[tuple[str, int]]:
    """Every module ``path`` imports (absolute names), with the line, at any depth."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # ``from pkg import sub`` may name a submodule: count the deepest one
            out += [(f"{target}.{a.name}", node.lineno) for a in node.names]
    return out


def layer_of(name: str, layers: list[tuple[str, list[str]]]) -> int | None:
    """The layer of the longest prefix that matches ``name`` (``lalert.x.y`` matches
    ``lalert.x``; ``lalert`` alone matches only the package itself)."""
    best: tuple[int, int] | None = None
    for i, (_, prefixes) in enumerate(layers):
        for p in prefixes:
            if name == p or (p != "lalert" and name.startswith(p + ".")):
                if best is None or len(p) > best[1]:
                    best = (i, len(p))
    return None if best is None else best[0]


def check(root: Path, layers: list[tuple[str, list[str]]]) -> tuple[list[Violation], list[str]]:
    """Upward imports, and modules that belong to no layer (both must be empty)."""
    top = root.name
    violations, unplaced = [], []
    for path in sorted(root.rglob("*.py")):
        module = module_name(root, path)
        mine = layer_of(module, layers)
        if mine is None:
            unplaced.append(module)
            continue
        for name, line in imports_of(path, module):
            if name != top and not name.startswith(top + "."):
                continue
            theirs = layer_of(name, layers)
            if theirs is None:  # ``from pkg import function``: try the module it names
                theirs = layer_of(name.rpartition(".")[0], layers)
            if theirs is not None and theirs > mine:
                violations.append(Violation(module, name, line, layers[mine][0],
                                            layers[theirs][0]))
    return violations, unplaced


def test_no_module_imports_from_a_higher_layer():
    layers = read_layers(ARCHITECTURE.read_text(encoding="utf-8"))
    assert len(layers) >= 8, "docs/architecture.md lost its layer list"
    violations, unplaced = check(ROOT / "lalert", layers)
    assert not unplaced, f"modules in no layer of docs/architecture.md: {unplaced}"
    assert not violations, "\n".join(map(str, violations))


# --- the checker itself can fail ---------------------------------------------------------

SYNTHETIC_LAYERS = """
## Layers

1. **core** — `lalert`, `lalert.model`
2. **store** — `lalert.store`
3. **outputs** — `lalert.outputs`

## Next
"""


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "lalert"
    for rel, text in {"__init__.py": "", **files}.items():
        f = root / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize("statement", [
    "from lalert.outputs import base",
    "import lalert.outputs.base",
    "from lalert.outputs.base import AlertChange",
    "def f():\n    from lalert.outputs.base import AlertChange\n",  # function-level
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from lalert.outputs import x\n",
    "from ..outputs import base",  # relative
])
def test_checker_finds_an_upward_import(tmp_path, statement):
    root = _package(tmp_path, {"store/__init__.py": "", "store/push.py": statement,
                               "outputs/__init__.py": "", "outputs/base.py": ""})
    violations, unplaced = check(root, read_layers(SYNTHETIC_LAYERS))
    assert not unplaced
    assert [(v.importer, v.importer_layer, v.imported_layer) for v in violations] == [
        ("lalert.store.push", "store", "outputs")]


def test_checker_allows_downward_and_same_layer_imports(tmp_path):
    root = _package(tmp_path, {
        "model.py": "import lalert",
        "store/__init__.py": "from lalert.store import push",
        "store/push.py": "from lalert.model import x\nfrom . import other",
        "store/other.py": "",
        "outputs/__init__.py": "from lalert.store.push import y\nimport json",
    })
    assert check(root, read_layers(SYNTHETIC_LAYERS)) == ([], [])


def test_checker_names_a_module_in_no_layer(tmp_path):
    root = _package(tmp_path, {"extra.py": ""})
    assert check(root, read_layers(SYNTHETIC_LAYERS))[1] == ["lalert.extra"]


def cycles(root: Path, prefix: str) -> list[list[str]]:
    """Import cycles among the modules under ``prefix`` (package ``__init__`` files left
    out: a package naming its own submodules is not a knot), each once, smallest first."""
    paths = {module_name(root, p): p for p in sorted(root.rglob("*.py"))
             if p.name != "__init__.py" and module_name(root, p).startswith(prefix + ".")}
    graph: dict[str, set[str]] = {m: set() for m in paths}
    for module, path in paths.items():
        for name, _ in imports_of(path, module):
            target = name if name in paths else name.rpartition(".")[0]
            if target in paths and target != module:
                graph[module].add(target)
    found: list[list[str]] = []

    def walk(node: str, trail: list[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt in trail:
                loop = trail[trail.index(nxt):]
                start = loop.index(min(loop))
                canon = loop[start:] + loop[:start]  # one rotation per cycle
                if canon not in found:
                    found.append(canon)
            else:
                walk(nxt, [*trail, nxt])

    for start in sorted(graph):
        walk(start, [start])
    return found


def test_geo_modules_import_each_other_one_way():
    assert cycles(ROOT / "lalert", "lalert.geo") == []


def test_cycle_finder_finds_a_function_level_circle(tmp_path):
    root = _package(tmp_path, {
        "geo/__init__.py": "from lalert.geo import data",
        "geo/data.py": "def load():\n    from lalert.geo.store import load_store\n",
        "geo/store.py": "from lalert.geo.data import GeoData",
        "geo/codes.py": "",
    })
    assert cycles(root, "lalert.geo") == [["lalert.geo.data", "lalert.geo.store"]]
