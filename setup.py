"""Build hook: the map's npm front-end modules go into the wheel (everything else is in
pyproject.toml's package data).

``lalert/outputs/publicmap/npm-files.json`` lists the files; they are copied from the
checkout's ``node_modules`` (``npm ci --omit=dev``) into ``lalert/outputs/publicmap/npm/``
of the build, so the installed map serves them offline and no copy of another project's
code is committed. Without them the map still works (boundaries embedded as GeoJSON,
markers unclustered); ``LALERT_REQUIRE_NPM=1`` (set by scripts/test.sh) makes a missing
file fail the build instead of a warning.
"""

import json
import os
import shutil
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "lalert" / "outputs" / "publicmap" / "npm-files.json"


class BuildPyWithNpm(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads node_modules in place
            return
        target = Path(self.build_lib) / "lalert" / "outputs" / "publicmap" / "npm"
        listed = json.loads(MANIFEST.read_text("utf-8"))["modules"]
        missing = []
        for files in listed.values():
            for rel in files:
                src = HERE / "node_modules" / rel
                if not src.is_file():
                    missing.append(rel)
                    continue
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, target / rel)
        if missing:
            msg = ("lalert: npm modules missing from node_modules (run `npm ci --omit=dev`): "
                   + ", ".join(missing))
            if os.environ.get("LALERT_REQUIRE_NPM") == "1":
                raise SystemExit(msg)
            print(msg + "; the wheel's map embeds boundaries and does not cluster markers",
                  file=sys.stderr)


setup(cmdclass={"build_py": BuildPyWithNpm})
