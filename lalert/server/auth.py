"""Bearer tokens for ingest and other write routes; helpers the desk console reuses.

Tokens come from ``[[ingest.tokens]]`` (name + token) and ``LALERT_INGEST_TOKEN``; the
name, never the token, is what the journal records as sender. Comparison is constant
time over every configured token, so timing reveals nothing about which one was close.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from lalert.config import IngestToken


class TokenAuth:
    def __init__(self, tokens: list[IngestToken]) -> None:
        self._tokens = [(t.name, t.token.encode()) for t in tokens]

    @property
    def configured(self) -> bool:
        return bool(self._tokens)

    def names(self) -> dict[str, str]:
        """name → token (for parts that check the same tokens themselves)."""
        return {n: t.decode() for n, t in self._tokens}

    def verify(self, token: str | None) -> str | None:
        """The token's name, or None."""
        if not token:
            return None
        # aiohttp decodes header bytes that are not UTF-8 as surrogates: keep them as bytes
        given = token.encode("utf-8", "surrogateescape")
        found = None
        for name, t in self._tokens:
            if hmac.compare_digest(given, t):
                found = name
        return found

    def require(self, request: web.Request) -> str:
        """The sender name for a request's ``Authorization: Bearer`` header.

        401 (with ``WWW-Authenticate``) when no bearer token is given, 403 when it is wrong.
        """
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise web.HTTPUnauthorized(
                headers={"WWW-Authenticate": 'Bearer realm="lalert"'},
                text='{"error": "missing bearer token"}', content_type="application/json")
        name = self.verify(token.strip())
        if name is None:
            raise web.HTTPForbidden(text='{"error": "token not accepted"}',
                                    content_type="application/json")
        return name


AUTH_KEY = web.AppKey("lalert.auth", TokenAuth)


def require_token(request: web.Request) -> str:
    """Shortcut for handlers: the sender name, or 401 / 403."""
    return request.app[AUTH_KEY].require(request)
