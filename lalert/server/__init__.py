"""aiohttp server: app factory, thin routes, auth, caching. ``create_app(config)``."""

from lalert.server.app import create_app

__all__ = ["create_app"]
