"""A cap on open stream connections per instance, so one instance degrades with a clear 503."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from galactic_goofs.events.hub import Hub

RETRY_AFTER_SECONDS = 5


class CappedStream(Response):
    """Serves `stream` unless the hub already has `max_streams` subscribers.

    The count is checked when the response starts, and the stream subscribes before its first
    await, so concurrent connections cannot all slip past the cap together.
    """

    def __init__(self, stream: Response, hub: Hub, max_streams: int) -> None:
        self.stream = stream
        self.hub = hub
        self.max_streams = max_streams
        self.status_code = stream.status_code
        self.background = None
        self.raw_headers = stream.raw_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        open_streams = sum(len(subscribers) for subscribers in self.hub.subscribers.values())
        if open_streams >= self.max_streams:
            refusal = JSONResponse(
                {"detail": "this instance is serving as many streams as it can; retry shortly"},
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
            await refusal(scope, receive, send)
            return
        await self.stream(scope, receive, send)
