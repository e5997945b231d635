"""One grammar for the command line: every command that reads a home takes ``--home``
(``--db`` where a geo store is meant), ``--demo`` means the same everywhere, and the home
remembers the configuration ``lalert run`` ran it with."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from lalert.cli import build_parser, main
from lalert.cli.home import DEMO_HELP, HOME_HELP, REMEMBERED
from tests.daemon_helpers import start_daemon

# commands that read only the files they are given
NO_HOME = {("parse",), ("validate",)}


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Every runnable (sub)command: (its words, its parser)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
        return
    for name, child in subs[0].choices.items():
        yield from commands(child, (*path, name))


def options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {s: a for a in parser._actions for s in a.option_strings}


ALL = dict(commands(build_parser()))


def test_every_command_is_found():
    assert {("run",), ("data", "import"), ("where",), ("signage", "export")} <= set(ALL)


@pytest.mark.parametrize("words", sorted(set(ALL) - NO_HOME), ids=" ".join)
def test_every_command_that_reads_a_home_takes_home_and_config(words):
    opts = options(ALL[words])
    assert opts["--home"].help == HOME_HELP
    assert "--config" in opts
    if "--demo" in opts:  # one meaning everywhere
        assert opts["--demo"].help == DEMO_HELP


@pytest.mark.parametrize("words", [("data", "import"), ("data", "info"), ("where",), ("enrich",),
                                   ("signage", "export"), ("tiles", "export")], ids=" ".join)
def test_geo_store_commands_take_db(words):
    assert "--db" in options(ALL[words])


def test_data_import_into_a_home(tmp_path, capsys, corpus):
    src = corpus / "geo" / "municipalities" / "N03-21_43_210101.geojson"
    assert main(["data", "import", "--quiet", "--home", str(tmp_path / "h"), str(src)]) == 0
    assert (tmp_path / "h" / "geo.gpkg").is_file()
    assert main(["data", "info", "--home", str(tmp_path / "h")]) == 0
    assert "areas n03" in capsys.readouterr().out


def test_signage_export_after_run_needs_only_the_home(tmp_path, capsys):
    home = tmp_path / "home"
    with start_daemon(home, demo=True, outputs=["signage"]) as d:
        d.wait_applied(1)
    assert json.loads((home / REMEMBERED).read_text()) == {"config": None, "demo": True}
    out = tmp_path / "www"
    assert main(["signage", "export", str(out), "--home", str(home)]) == 0
    assert (out / "cityhall.html").is_file()  # a screen of the demo configuration
    assert "screen(s) exported" in capsys.readouterr().out


def test_a_home_remembers_its_configuration_file(tmp_path):
    home = tmp_path / "home"
    screen = ('[[outputs.signage.screens]]\nid = "lobby"\nname = "ロビー"\n'
              'lat = 32.80\nlon = 130.70\n')
    with start_daemon(home, config_text=screen, outputs=[]):
        pass
    remembered = json.loads((home / REMEMBERED).read_text())
    assert remembered == {"config": str((tmp_path / "home.toml").resolve()), "demo": False}
    assert main(["signage", "export", str(tmp_path / "www"), "--home", str(home)]) == 0
    assert (tmp_path / "www" / "lobby.html").is_file()
    assert not (tmp_path / "www" / "cityhall.html").exists()


def test_without_a_remembered_run_export_says_what_to_give(tmp_path, capsys):
    assert main(["signage", "export", str(tmp_path / "www"), "--home", str(tmp_path / "h")]) == 2
    assert "--demo" in capsys.readouterr().err


def test_demo_flag_gives_the_demo_screens_on_any_home(tmp_path):
    assert main(["signage", "export", str(tmp_path / "www"), "--home", str(tmp_path / "h"),
                 "--demo"]) == 0
    assert (tmp_path / "www" / "kurokami.html").is_file()


def test_where_reads_the_home(tmp_path, capsys):
    home: Path = tmp_path / "h"
    assert main(["where", "32.8031", "130.7079", "--home", str(home), "--demo", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert any(a["name"] == "熊本市中央区" for a in out["areas"])
