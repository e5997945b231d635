"""A strict run (CI, scripts/test.sh) fails on a skip: a missing corpus or server cannot
leave the suite green. Only a skip marked ``n/a:`` (the case does not apply) stays a skip."""

from __future__ import annotations

import pytest

import tests.conftest as conftest

pytest_plugins = ["pytester"]

INNER = '''
import pytest

def test_missing():
    pytest.skip("redis-server is not installed")

def test_not_applicable():
    pytest.skip("n/a: a stream exists with the Redis bus only")

@pytest.mark.skipif(True, reason="corpus absent")
def test_marker():
    pass

def test_passes():
    pass
'''


@pytest.mark.parametrize("strict", [True, False])
def test_skips_fail_only_in_strict_runs(pytester, monkeypatch, strict):
    monkeypatch.setattr(conftest, "STRICT", strict)
    pytester.makeconftest("from tests.conftest import pytest_runtest_makereport  # noqa: F401\n")
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\n'
                               'asyncio_default_fixture_loop_scope = "function"\n')
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    if strict:
        result.assert_outcomes(passed=1, skipped=1, failed=1, errors=1)
        result.stdout.fnmatch_lines(["*skipped in a strict run*redis-server is not installed*"])
    else:
        result.assert_outcomes(passed=1, skipped=3)
