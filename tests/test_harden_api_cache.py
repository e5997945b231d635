"""The read API renders the active set once per state version and *filter*, not once per
spelling of a URL: a parameter lalert does not read (jQuery's ``?_=<time>`` cache-buster,
a crawler's tracking tag) or the same kinds in another order share one rendering, so one
client cycling junk parameters cannot make every request a full render nor push real
answers out of the cache. Filters that differ still get their own answer."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from lalert.config import load_config
from lalert.server import api
from lalert.server.app import create_app


async def test_junk_parameters_share_one_rendering(tmp_path):
    config = load_config(env={}, overrides={
        "home": str(tmp_path / "home"), "poller.enabled": False, "spool.enabled": False,
        "outputs.enabled": []})
    app = create_app(config)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        cache = app[api.CACHE]
        etags = set()
        for i in range(20):
            r = await client.get(f"/api/v1/alerts?_={i}&utm_source=x{i}")
            assert r.status == 200
            etags.add(r.headers["ETag"])
        assert cache.renders == 1 and len(etags) == 1
        for q in ("kind=flood,landslide", "kind=landslide,flood&_=1", "kind=landslide,flood,"):
            assert (await client.get(f"/api/v1/alerts?{q}")).status == 200
        assert cache.renders == 2  # one more for the kinds filter, however spelled
        assert (await client.get("/api/v1/alerts?min_level=4")).status == 200
        assert cache.renders == 3
        r = await client.get("/api/v1/alerts?bbox=1,2")
        assert r.status == 400 and "bbox" in await r.text()
    finally:
        await client.close()
