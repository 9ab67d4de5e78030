"""Who a request is, from its bearer token or its session cookie, without a query per request.

An instance remembers each credential it found valid, with the credential generation it read
in the same statement (`CredentialGeneration`). Everything that makes a credential bad
(revoking a token, ending sessions, disabling an operator, changing a role or a password)
bumps that generation in its own transaction, on any instance or from the command line.
`watch()` reads it every `POLL_SECONDS`; a remembered credential counts only while its
generation is current and the generation was confirmed less than `FRESH_FOR` seconds ago. So:

- a revoked token, ended session or disabled operator is refused everywhere within
  `FRESH_FOR` seconds of the commit (however stale a poll, the memory is not trusted past it);
- an expiry needs no poll: the remembered identity carries `expires_at`;
- a request with a remembered credential costs no database round trip at all; each instance
  pays one one-row read per `POLL_SECONDS`, however many requests it serves, plus one lookup
  per credential after each change of the generation.

Uses of tokens are noted in memory and written as `last_used_at` every
`USAGE_FLUSH_SECONDS`, one short write for all of them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from cachetools import LRUCache

from galactic_goofs.auth import service
from galactic_goofs.auth.service import Identity
from galactic_goofs.db import Database, utcnow

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
FRESH_FOR = 1.0
USAGE_FLUSH_SECONDS = 10.0
REMEMBERED = 10_000


class Authenticator:
    def __init__(
        self,
        db: Database,
        *,
        poll_seconds: float = POLL_SECONDS,
        fresh_for: float = FRESH_FOR,
        usage_flush_seconds: float = USAGE_FLUSH_SECONDS,
    ) -> None:
        self.db = db
        self.poll_seconds = poll_seconds
        self.fresh_for = fresh_for
        self.usage_flush_seconds = usage_flush_seconds
        self.known: LRUCache[str, tuple[Identity, int]] = LRUCache(maxsize=REMEMBERED)
        self.generation = -1
        self.confirmed_at = float("-inf")
        """`time.monotonic()` when a read of the generation that saw `generation` started."""
        self.token_uses: dict[int, datetime] = {}
        self.lookups = 0
        """Credential lookups that went to the database (for tests and measurements)."""

    async def by_token(self, token: str) -> Identity | None:
        if not token:
            return None
        identity = await self._identify("t" + service.digest(token), service.identify_token, token)
        if identity is not None and identity.token_id is not None:
            self.token_uses[identity.token_id] = utcnow()
        return identity

    async def by_session(self, key: str) -> Identity | None:
        if not key:
            return None
        return await self._identify("s" + service.digest(key), service.identify_session, key)

    async def _identify(
        self,
        memory_key: str,
        lookup: Callable[..., Awaitable[tuple[Identity | None, int]]],
        secret: str,
    ) -> Identity | None:
        remembered = self.known.get(memory_key)
        if remembered is not None:
            known, generation = remembered
            if self._trusted(generation) and not known.expired(utcnow()):
                return known
            del self.known[memory_key]
        self.lookups += 1
        async with self.db.reading() as session:
            identity, generation = await lookup(session, secret)
        if identity is not None:
            self.known[memory_key] = (identity, generation)
        return identity

    def _trusted(self, generation: int) -> bool:
        # Newer than the last poll is fine: it was read after whatever that poll saw.
        fresh = time.monotonic() - self.confirmed_at < self.fresh_for
        return fresh and generation >= self.generation

    async def confirm(self) -> None:
        """Read the generation once; forget everything remembered if it moved."""
        started = time.monotonic()
        async with self.db.reading() as session:
            generation = await service.current_generation(session)
        if generation != self.generation:
            self.known.clear()
            self.generation = generation
        self.confirmed_at = started

    async def flush_usage(self) -> None:
        uses, self.token_uses = self.token_uses, {}
        if uses:
            await self.db.write(service.record_token_use, uses)

    async def watch(self) -> None:
        """Keep the memory honest (see the module); runs for the life of the instance."""
        next_flush = time.monotonic() + self.usage_flush_seconds
        try:
            while True:
                try:
                    await self.confirm()
                    if time.monotonic() >= next_flush:
                        next_flush = time.monotonic() + self.usage_flush_seconds
                        await self.flush_usage()
                except Exception as error:
                    # Unconfirmed, the memory goes stale by itself and lookups go to the
                    # database, which answers (or reports the outage) on its own.
                    log.warning("checking for revoked credentials failed: %s", error)
                await asyncio.sleep(self.poll_seconds)
        finally:
            try:
                await self.flush_usage()
            except Exception as error:
                log.warning("recording token use failed: %s", error)
