"""CSRF protection for form posts: a token every form echoes, bound to the browser session.

What is defended: a hostile page (or a hostile neighbour on a sibling subdomain) making a
signed-in browser post to us with its cookies attached.

- Signed in, the token is derived from the session key (a SHA-256 of it under a label of its
  own, `session_token`), which lives only in the HttpOnly session cookie. A post passes
  `verify_csrf` only when its `csrf_token` field (or `X-CSRF-Token` header, for htmx) is the
  token of the session cookie it came with: a token read from one session's page is refused
  with any other session's cookie, so a token that leaks (a screenshot, a log, a page saved
  from another account) is worth nothing outside its own session, and it dies with it.
  Nothing is stored: any instance derives the same token from the cookie it is sent.
- Not defended by the token: someone who can set cookies for our host (a hostile sibling
  subdomain) could plant a session of their own with its matching token, signing the victim
  in as the attacker. The attacker gains only what they already had; SameSite cookies and the
  Origin check below are what stand in the way.
- Not signed in (the sign-in form itself), the token is a random value in a `goofs_csrf`
  cookie, echoed by the form (double submit). That keeps a hostile page from signing a
  browser in as the attacker without the victim noticing.
- Whatever the token, a post whose `Origin` (or `Referer`) names another host is refused.

A page that renders a form calls `csrf_field(request)` (a Jinja global, see
`install_template_helpers`). Another site can make a browser post to us, but it can read
neither our cookies nor our pages, so it cannot know the token.
"""

from __future__ import annotations

import base64
import hashlib
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
SESSION_COOKIE = "goofs_session"
FIELD = "csrf_token"
HEADER = "x-csrf-token"
SCOPE_KEY = "goofs.csrf"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class CsrfRefused(DomainError):
    status_code = 403


def session_token(session_key: str) -> str:
    """The CSRF token of the browser session whose cookie holds `session_key`."""
    mac = hashlib.sha256(b"goofs csrf token\0" + session_key.encode()).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


@dataclass(slots=True)
class _Token:
    from_cookie: str | None
    session_key: str | None = None
    issued: str | None = None

    def value(self) -> str:
        if self.session_key:
            return session_token(self.session_key)
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
        cookies = _cookies(scope)
        token = _Token(cookies.get(COOKIE) or None, cookies.get(SESSION_COOKIE) or None)
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
    session_key = request.cookies.get(SESSION_COOKIE)
    expected = session_token(session_key) if session_key else request.cookies.get(COOKIE)
    submitted = request.headers.get(HEADER)
    if submitted is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        value = (await request.form()).get(FIELD)
        submitted = value if isinstance(value, str) else None
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise CsrfRefused(
            "the form's security token is missing or stale; reload the page and try again"
        )


def _cookies(scope: Scope) -> dict[str, str]:
    for name, value in scope["headers"]:
        if name == b"cookie":
            return cookie_parser(value.decode("latin-1"))
    return {}
