"""Files lalert reads at run time, found inside the installed package.

Templates, static files, the demo (configuration, gazetteer, shelters, messages), the CAP
1.2 XSD and the npm front-end modules ship in the wheel (as do the gettext catalogues,
``lalert.i18n``, and the alert schema, ``lalert.schema``), so an installed lalert never
reads its source tree. Every lookup goes through here with ``importlib.resources``, so a
wheel, an editable install and a checkout on ``PYTHONPATH`` all read the same files.

lalert is installed as plain files (geopandas, Jinja and the static file server need real
paths; wheels are unpacked, never imported from a zip), so :func:`path` returns a
``Path`` and refuses anything else instead of extracting to a temporary copy.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

#: What the npm front-end modules contribute to the wheel: ``package/file`` paths
#: relative to ``node_modules`` (the build copies them into ``NPM_DIR``).
NPM_MANIFEST = ("outputs", "publicmap", "npm-files.json")
#: Where those files live inside an installed package (same layout as ``node_modules``).
NPM_DIR = ("outputs", "publicmap", "npm")


def path(*parts: str) -> Path:
    """The file or directory ``lalert/<parts…>`` of the installed package."""
    found = files("lalert").joinpath(*parts)
    if not isinstance(found, Path):  # a zip import: see the module docstring
        raise RuntimeError(f"lalert must be installed as files, not from {found!r}")
    return found


def demo(*parts: str) -> Path:
    """The demo: ``lalert.toml``, ``geo/``, ``shelters/``, ``messages/`` (all hand-made)."""
    return path("demo", *parts)


def cap_xsd() -> Path:
    """OASIS's CAP 1.2 schema, shipped with its copyright notice (``validate/xsd/``)."""
    return path("validate", "xsd", "CAP-v1.2.xsd")


@lru_cache(maxsize=1)
def npm_files() -> tuple[str, ...]:
    """The manifest: which files of which npm modules the map serves."""
    listed = json.loads(path(*NPM_MANIFEST).read_text("utf-8"))
    return tuple(str(f) for module in listed["modules"].values() for f in module)


def node_modules() -> Path:
    """A directory laid out like ``node_modules`` holding the map's front-end modules.

    An installed wheel has them built into the package (``setup.py`` copies the manifest's
    files at build time). In a source checkout (editable install or ``PYTHONPATH``) they
    are read from the checkout's own ``node_modules`` (``npm ci --omit=dev``), the same
    files the build would copy.
    """
    built = path(*NPM_DIR)
    if built.is_dir():
        return built
    root = _checkout()
    return root / "node_modules" if root else built


def _checkout() -> Path | None:
    """The source checkout lalert runs from, or None for an installed package."""
    root = path().parent
    return root if (root / "pyproject.toml").is_file() and (root / "lalert").is_dir() else None
