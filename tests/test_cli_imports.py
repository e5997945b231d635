"""`lalert parse` and `lalert validate` import only what they use.

Each command runs in a real subprocess; a small wrapper notes the modules already loaded
at interpreter start, runs the CLI, and prints the top-level packages it added. A parse
that pulled in geopandas, shapely, jinja2, aiohttp or a database driver (through a geo,
server or store import in the CLI) shows up here as an unexpected package."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

WRAPPER = """
import json, sys
before = set(sys.modules)
from lalert.cli import main
try:
    main(sys.argv[1:])
finally:
    added = {m.split('.')[0] for m in set(sys.modules) - before}
    added -= set(sys.stdlib_module_names)
    sys.stderr.write('\\nIMPORTED ' + json.dumps(sorted(m for m in added if not m.startswith('_'))) + '\\n')
"""

# lxml is the parser; cython_runtime is the module lxml's compiled extension registers;
# msgspec is the model's codec (--json), typing_extensions what msgspec imports.
ALLOWED = {"lalert", "lxml", "cython_runtime", "msgspec", "typing_extensions"}
HEAVY = {"geopandas", "shapely", "pyproj", "pandas", "numpy", "jinja2", "folium", "aiohttp",
         "psycopg", "psycopg2", "redis", "msgpack_numpy", "pyogrio"}


def imported_by(*args: str) -> set[str]:
    r = subprocess.run([sys.executable, "-c", WRAPPER, *args], capture_output=True, cwd=ROOT,
                       timeout=120)
    line = [x for x in r.stderr.decode().splitlines() if x.startswith("IMPORTED ")]
    assert line, r.stderr.decode()
    return set(json.loads(line[-1].removeprefix("IMPORTED ")))


@pytest.mark.parametrize("command", [["parse", "--json"], ["parse"], ["validate"]])
def test_command_imports_only_what_it_uses(command, corpus):
    # JMA messages: no CAP/Commons circle, whose geodesic vertices do need pyproj
    got = imported_by(*command, str(corpus / "xml/jma"))
    assert not got & HEAVY, f"{command} imported {sorted(got & HEAVY)}"
    assert got <= ALLOWED, f"{command} imported {sorted(got - ALLOWED)}"


def test_wrapper_sees_a_heavy_import():
    """The check can fail: a command that does need the geo stack is seen importing it."""
    got = imported_by("where", "--help")
    assert {"geopandas", "shapely"} & got
