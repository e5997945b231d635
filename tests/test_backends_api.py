"""The whole read-API suite (``tests/test_daemon_api.py``: lifecycle over HTTP, filters,
drills, expiry, ETags, history, health, metrics, OpenAPI) again on the ``postgis+redis``
backend; ``test_daemon_api.py`` itself runs it on the default SQLite one."""

from __future__ import annotations

import secrets

import pytest

from tests.backends import pg_server, redis_server  # noqa: F401 (fixtures)
from tests.daemon_helpers import Daemon, start_daemon
from tests.test_daemon_api import *  # noqa: F403 - the same tests, collected here again


@pytest.fixture(scope="module")
def d(tmp_path_factory, pg_server, redis_server) -> Daemon:  # noqa: F811
    env = {"LALERT_STORE": pg_server.new_database(),
           "LALERT_BUS": redis_server.url(stream=f"api-{secrets.token_hex(4)}")}
    dm = start_daemon(tmp_path_factory.mktemp("api-pg") / "home", env=env)
    yield dm
    dm.stop()
