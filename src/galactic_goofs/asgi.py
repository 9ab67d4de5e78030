"""The app class, and the stream's direct line to the ASGI server past the middleware chain.

A stream sends its response start through the whole middleware chain, which adds the security
headers and the CSRF cookie and lets the error handlers know the response has begun, and then
its frames straight to the server's own `send`, which `App` puts in `SERVER_SEND` for every
request. Passed down the chain, every frame of every stream went through each middleware's
`send` wrapper: about a tenth of the server's samples in a profile of a burst (see
`docs/PERFORMANCE.md`, step 12).

The price: a middleware never sees a stream's frames. One that has to see or change response
bodies (compression, body logging) would silently break or miss every stream, so `App` refuses
to add a middleware unless it is known to touch only the response start
(`touches_response_start_only = True`, or one of Starlette's own that do).
"""

from __future__ import annotations

import contextvars
from typing import Any

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.httpsredirect import HTTPSRedirectMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import Receive, Scope, Send

SERVER_SEND: contextvars.ContextVar[Send] = contextvars.ContextVar("server_send")
"""The ASGI server's own `send` for the current request, set by `App`."""

MARKER = "touches_response_start_only"
"""A middleware class attribute: true when it reads or changes only a response's start
(status and headers) and passes every body message on untouched."""

STARTLETTE_HEADERS_ONLY: frozenset[type[Any]] = frozenset(
    {CORSMiddleware, HTTPSRedirectMiddleware, TrustedHostMiddleware}
)


class BodyMiddlewareRefused(TypeError):
    """A middleware that may need to see response bodies, which streams send past it."""


class App(FastAPI):
    """The app, handing each request's streams the server's own `send` (`SERVER_SEND`)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A context variable, not a key in `scope`: one more key made every open stream's
        # scope dict grow to its next size (`docs/PERFORMANCE.md`, step 12).
        token = SERVER_SEND.set(send)
        try:
            await super().__call__(scope, receive, send)
        finally:
            SERVER_SEND.reset(token)

    def add_middleware(self, middleware_class: Any, *args: Any, **kwargs: Any) -> None:
        if middleware_class not in STARTLETTE_HEADERS_ONLY and not getattr(
            middleware_class, MARKER, False
        ):
            name = getattr(middleware_class, "__qualname__", repr(middleware_class))
            raise BodyMiddlewareRefused(
                f"{name} may need to see response bodies, but event streams send their frames "
                "straight to the server, past every middleware (galactic_goofs/asgi.py): it "
                "would silently miss them. Compress or log at the proxy instead; a middleware "
                f"that only touches the response start can say so with `{MARKER} = True`."
            )
        super().add_middleware(middleware_class, *args, **kwargs)
