"""CSRF protection for form posts: a per-browser token in a cookie, echoed by every form.

A page that renders a form calls `csrf_field(request)` (a Jinja global, see
`install_template_helpers`); the browser gets the token as a cookie on that same response.
A post passes `verify_csrf` only when its `csrf_token` field (or `X-CSRF-Token` header, for
htmx) equals the cookie and, when the browser says where the post came from, it came from us.
Another site can make a browser post to us, but it can read neither our cookie nor our page.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup, escape
from starlette.datastructures import MutableHeaders
from starlette.requests import Request, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from galactic_goofs.errors import DomainError

COOKIE = "goofs_csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"
SCOPE_KEY = "goofs.csrf"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class CsrfRefused(DomainError):
    status_code = 403


@dataclass(slots=True)
class _Token:
    from_cookie: str | None
    issued: str | None = None

    def value(self) -> str:
        if self.from_cookie:
            return self.from_cookie
        if self.issued is None:
            self.issued = secrets.token_urlsafe(32)
        return self.issued


class CsrfCookieMiddleware:
    """Sets the CSRF cookie on responses whose page asked for a token the browser lacked.

    Pure ASGI, so streams pass straight through; API clients that never render a form never
    get the cookie.
    """

    touches_response_start_only = True

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _Token(_cookie(scope))
        scope[SCOPE_KEY] = token

        def send_with_cookie(message: Message) -> Awaitable[None]:
            # A plain function, as in `galactic_goofs.middleware`: stream frames pass through.
            if message["type"] == "http.response.start" and token.issued is not None:
                headers = MutableHeaders(scope=message)
                secure = "; Secure" if scope.get("scheme") == "https" else ""
                headers.append(
                    "set-cookie",
                    f"{COOKIE}={token.issued}; Path=/; HttpOnly; SameSite=Strict{secure}",
                )
            return send(message)

        await self.app(scope, receive, send_with_cookie)


def csrf_token(request: Request) -> str:
    token: _Token | None = request.scope.get(SCOPE_KEY)
    if token is None:
        raise RuntimeError("CsrfCookieMiddleware is not installed")
    return token.value()


def csrf_field(request: Request) -> Markup:
    """The hidden input every console form includes."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(
        FIELD, escape(csrf_token(request))
    )


def install_template_helpers(templates: Any) -> None:
    """Make `csrf_field(request)` and `csrf_token(request)` available to a Jinja2Templates."""
    templates.env.globals["csrf_field"] = csrf_field
    templates.env.globals["csrf_token"] = csrf_token


async def verify_csrf(request: Request) -> None:
    """Refuse a post that did not come from one of our own pages."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    # Behind a proxy that rewrites Host, the public host arrives as X-Forwarded-Host. A hostile
    # page cannot set either header on a browser's post, so trusting both is safe.
    ours = {request.headers.get("host"), request.headers.get("x-forwarded-host")}
    if origin and origin != "null" and urlsplit(origin).netloc not in ours:
        raise CsrfRefused("cross-site form posts are refused")
    expected = request.cookies.get(COOKIE)
    submitted = request.headers.get(HEADER)
    if submitted is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        value = (await request.form()).get(FIELD)
        submitted = value if isinstance(value, str) else None
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise CsrfRefused(
            "the form's security token is missing or stale; reload the page and try again"
        )


def _cookie(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"cookie":
            return cookie_parser(value.decode("latin-1")).get(COOKIE) or None
    return None
