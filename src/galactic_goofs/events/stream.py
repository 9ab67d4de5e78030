"""The SSE response: replay from a cursor, then live frames from the hub, one task per client."""

from __future__ import annotations

import asyncio
import contextlib
import json

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from galactic_goofs.asgi import SERVER_SEND
from galactic_goofs.db import Database
from galactic_goofs.errors import DomainError
from galactic_goofs.events import service
from galactic_goofs.events.hub import Hub, Subscriber
from galactic_goofs.events.sse import frame, retry

REPLAY_WRITE_BYTES = 64 * 1024
MAX_SEQ = 2**62
"""Far beyond any real log, and safely inside a signed 64-bit database column."""


class BadCursor(DomainError):
    status_code = 400


def parse_cursor(after: int | None, last_event_id: str | None) -> int | None:
    """`?after=N` wins over `Last-Event-ID` (a page can pin its own cursor); both must be seqs."""
    if after is not None:
        return after
    if last_event_id is None or not last_event_id.strip():
        return None
    try:
        cursor = int(last_event_id.strip())
    except ValueError:
        raise BadCursor(
            f"Last-Event-ID must be the seq of an event (a whole number), not {last_event_id!r}"
        ) from None
    if cursor < 0:
        raise BadCursor("Last-Event-ID must not be negative")
    if cursor > MAX_SEQ:
        raise BadCursor(f"Last-Event-ID must be at most {MAX_SEQ}")
    return cursor


class EventStream(Response):
    media_type = "text/event-stream"

    def __init__(
        self, hub: Hub, db: Database, format: str, after: int | None, retry_ms: int
    ) -> None:
        # Not Response.__init__: it would announce an empty body with Content-Length: 0.
        self.status_code = 200
        self.background = None
        self.init_headers(
            {
                "Cache-Control": "no-cache",
                # Reverse proxies (nginx) must pass frames on as they come.
                "X-Accel-Buffering": "no",
            }
        )
        self.hub = hub
        self.db = db
        self.format = format
        self.after = after
        self.retry_ms = retry_ms

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        subscriber, upto = self.hub.subscribe(self.format, self.after)
        # The writer gets a task of its own. This request's task sits under a dozen layers of
        # middleware, and waking it resumes every one of those frames; with thousands of
        # streams that was most of the cost of a delivery. This task only waits.
        writer = asyncio.create_task(
            self._write(send, SERVER_SEND.get(send), subscriber, upto), name="stream-writer"
        )
        subscriber.writer = writer
        watcher = asyncio.create_task(_close_on_disconnect(receive, subscriber))
        try:
            finished = await writer
        finally:
            subscriber.close()
            watcher.cancel()
            writer.cancel()
        if finished:
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _write(self, send: Send, direct: Send, subscriber: Subscriber, upto: int) -> bool:
        """Replay, then live frames until closed; False when the client was cut off.

        The response start goes through `send`, the middleware chain; the frames through
        `direct`, the server's own `send` (see `galactic_goofs.asgi`).
        """
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await self._send_replay(direct, subscriber, upto)
            while True:
                await subscriber.wait()
                if subscriber.closed:
                    return not subscriber.overflowed
                subscriber.writing = True
                await direct(
                    {"type": "http.response.body", "body": subscriber.take(), "more_body": True}
                )
                subscriber.writing = False
        except asyncio.CancelledError:
            if not subscriber.overflowed:
                raise
            # It stopped reading: leave the response unfinished so the server drops the
            # connection. The client reconnects with its Last-Event-ID and loses nothing.
            return False

    async def _send_replay(self, send: Send, subscriber: Subscriber, upto: int) -> None:
        pending = [retry(self.retry_ms)]
        after = self.after
        if after is not None and after != upto:
            reason = await self._reset_reason(after, upto)
            if reason is not None:
                subscriber.cursor = upto
                body = json.dumps({"reason": reason, "last_seq": upto})
                pending.append(frame(body, event="reset", id=upto))
            elif after < upto:
                size = 0
                async for data in self.hub.replay(self.format, after, upto):
                    pending.append(data)
                    size += len(data)
                    if size >= REPLAY_WRITE_BYTES:
                        await _send_body(send, pending)
                        pending, size = [], 0
        await _send_body(send, pending)

    async def _reset_reason(self, after: int, upto: int) -> str | None:
        async with self.db.reading() as session:
            if after > upto:
                head = await service.last_seq(session)
                if after > head:
                    return f"cursor {after} is ahead of the event log (last seq {head})"
                return None
            first = await service.first_retained_seq(session)
        if first is None or after < first - 1:
            return f"events after {after} are no longer retained; reload the fleet"
        return None


async def _send_body(send: Send, chunks: list[bytes]) -> None:
    if chunks:
        await send({"type": "http.response.body", "body": b"".join(chunks), "more_body": True})


async def _close_on_disconnect(receive: Receive, subscriber: Subscriber) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        while (await receive())["type"] != "http.disconnect":
            pass
        subscriber.close()
