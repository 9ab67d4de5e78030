"""Who a request is, from its bearer token or its session cookie."""

from __future__ import annotations

from cachetools import TTLCache

from galactic_goofs.auth import service
from galactic_goofs.auth.service import Identity
from galactic_goofs.db import Database

TOKEN_CACHE_SECONDS = 30.0


class Authenticator:
    """Looks identities up in the database, remembering valid API tokens for a while.

    A write need not read the database for its token first: a token found valid is kept, by
    digest, for `TOKEN_CACHE_SECONDS`, so one deleted from the database keeps working here for
    at most that long. Session cookies are looked up on every request.
    """

    def __init__(self, db: Database, *, token_cache_seconds: float = TOKEN_CACHE_SECONDS) -> None:
        self.db = db
        self.known_tokens: TTLCache[str, Identity] = TTLCache(
            maxsize=10_000, ttl=token_cache_seconds
        )

    async def by_token(self, token: str) -> Identity | None:
        token_digest = service.digest(token)
        identity = self.known_tokens.get(token_digest)
        if identity is None and token:
            async with self.db.reading() as session:
                identity = await service.identify_token(session, token)
            if identity is not None:
                self.known_tokens[token_digest] = identity
        return identity

    async def by_session(self, key: str) -> Identity | None:
        async with self.db.reading() as session:
            return await service.identify_session(session, key)
