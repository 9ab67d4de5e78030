"""Who is asking: `Viewer` for reading (honours GOOFS_PUBLIC_READ), `Operator` for changing.

An operator proves who they are with `Authorization: Bearer <token>` (automation) or the
session cookie a browser got by signing in. Writes through the cookie must also pass the CSRF
check, because a browser sends cookies along with posts that other sites make it send.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from galactic_goofs.auth.csrf import verify_csrf
from galactic_goofs.auth.service import Identity
from galactic_goofs.errors import DomainError
from galactic_goofs.state import get_state

SESSION_COOKIE = "goofs_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_IDENTITY_KEY = "goofs.identity"


class NotAuthenticated(DomainError):
    """401 for API clients; browsers asking for a page are sent to sign in instead."""

    status_code = 401


async def current_identity(request: Request) -> Identity | None:
    """The signed-in operator, if any; looked up once per request."""
    if _IDENTITY_KEY in request.scope:
        cached: Identity | None = request.scope[_IDENTITY_KEY]
        return cached
    identity = await _identify(request)
    request.scope[_IDENTITY_KEY] = identity
    return identity


async def _identify(request: Request) -> Identity | None:
    auth = get_state(request).auth
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        identity = await auth.by_token(credentials.strip())
        if identity is None:
            # A client that sent a token meant to be someone: say it did not work.
            raise NotAuthenticated("the API token is not valid")
        return identity
    key = request.cookies.get(SESSION_COOKIE)
    if not key:
        return None
    return await auth.by_session(key)


API_TOKEN = HTTPBearer(
    auto_error=False,
    scheme_name="APIToken",
    description="An operator's API token: `goofs token create --user NAME`",
)
"""Shown in the OpenAPI schema on every write; the token itself is read by `_identify`, which
also accepts a signed-in browser's session cookie."""


async def require_operator(
    request: Request,
    _token: Annotated[HTTPAuthorizationCredentials | None, Security(API_TOKEN)],
) -> Identity:
    identity = await current_identity(request)
    if identity is None:
        raise NotAuthenticated(
            "only operators can change the fleet: sign in, or send "
            "'Authorization: Bearer <token>' (create one with `goofs token create --user NAME`)"
        )
    if identity.via == "session" and request.method not in SAFE_METHODS:
        await verify_csrf(request)
    return identity


async def require_viewer(request: Request) -> Identity | None:
    """Anyone may watch unless GOOFS_PUBLIC_READ=false; then only signed-in operators."""
    if get_state(request).settings.public_read:
        return None
    identity = await current_identity(request)
    if identity is None:
        raise NotAuthenticated("sign in to watch the fleet")
    return identity


Operator = Annotated[Identity, Depends(require_operator)]
Viewer = Annotated[Identity | None, Depends(require_viewer)]
MaybeSignedIn = Annotated[Identity | None, Depends(current_identity)]
