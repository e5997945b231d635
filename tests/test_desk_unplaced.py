"""The desk lists alerts in force that lalert cannot place, naming the missing places.

A tsunami warning over JMA 津波予報区 that the imported geodata has no polygon for reaches
no resident locating themselves, no point subscription and no point-placed screen; the
operator must see that (and import the boundaries) rather than believe it went out. Real
telegrams and JMA's warning-area polygons, on a real ``lalert run``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.conftest import ROOT
from tests.daemon_helpers import Daemon, start_daemon
from tests.test_desk import operator_config, operator_session

NARA_53 = "15_08_01_130412_VPWW53.xml"  # every town has a polygon
TSUNAMI = "32-39_11_02_250206_VTSE41.xml"  # 2011-03-11 大津波警報: forecast regions only


@pytest.fixture(scope="module")
def daemon(corpus, tmp_path_factory) -> Daemon:
    home = tmp_path_factory.mktemp("unplaced") / "home"
    home.mkdir()
    done = subprocess.run([sys.executable, "-m", "lalert", "data", "import", "--quiet", "--db",
                           str(home / "geo.gpkg"),
                           str(corpus / "geo" / "jma-areas" / "jma_city_areas.geojson")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert (home / "geo.gpkg").is_file(), done.stdout + done.stderr
    d = start_daemon(home, config_text=operator_config())
    for name in (NARA_53, TSUNAMI):
        status, receipt = d.post((corpus / "xml" / "jma" / name).read_bytes())
        assert status == 202, receipt
    d.wait_applied()
    yield d
    d.stop()


@pytest.fixture
async def desk(daemon: Daemon) -> AsyncIterator[aiohttp.ClientSession]:
    async with operator_session(daemon) as s:
        yield s


async def test_the_desk_names_what_it_cannot_place(desk):
    async with desk.get("/desk/") as r:
        page = await r.text()
    assert 'id="h-unplaced"' in page
    (listed,) = re.findall(r'<ul class="unplaced-list">(.*?)</ul>', page, re.S)
    assert "大津波警報・津波警報・津波注意報・津波予報" in listed
    assert "岩手県 (jma.tsunami_region 210)" in listed
    assert "奈良県" not in listed  # its towns are on the map


async def test_the_english_desk_says_why_it_matters(desk):
    async with desk.get("/desk/?lang=en") as r:
        page = await r.text()
    assert "Alerts the map cannot place" in page
    assert "Import their boundaries (lalert data import)" in page
