"""The one place where access is decided, for the API and the console alike.

Every route names what it needs, as a dependency: `require_viewer` (reading; anyone when
GOOFS_PUBLIC_READ is on), `require_operator` (changing the fleet) or `require_admin`
(operators, tokens, the audit log). Each calls `authorize`, which asks `auth.policy` whether
the caller's role, and their token's scope, allow it. A test lists every route of the app and
checks each against a table of who may use it.

An operator proves who they are with `Authorization: Bearer <token>` (automation) or the
session cookie a browser got by signing in. Writes through the cookie must also pass the CSRF
check, because a browser sends cookies along with posts that other sites make it send.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from galactic_goofs.auth.csrf import SESSION_COOKIE, verify_csrf
from galactic_goofs.auth.policy import Access, refusal
from galactic_goofs.auth.service import Identity
from galactic_goofs.errors import DomainError
from galactic_goofs.state import get_state

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_IDENTITY_KEY = "goofs.identity"


class NotAuthenticated(DomainError):
    """401 for API clients; browsers asking for a page are sent to sign in instead."""

    status_code = 401


class Forbidden(DomainError):
    """Signed in, but the role (or the token's scope) does not allow this."""

    status_code = 403


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
            raise NotAuthenticated(
                "the API token is not valid (unknown, revoked or expired, or its operator is "
                "disabled)"
            )
        return identity
    key = request.cookies.get(SESSION_COOKIE)
    if not key:
        return None
    return await get_state(request).auth.by_session(key)


API_TOKEN = HTTPBearer(
    auto_error=False,
    scheme_name="APIToken",
    description="An API token: `goofs token create --user NAME`",
)
"""Shown in the OpenAPI schema on every write and admin route; the token itself is read by
`_identify`, which also accepts a signed-in browser's session cookie."""
Token = Annotated[HTTPAuthorizationCredentials | None, Security(API_TOKEN)]


ANONYMOUS = {
    Access.READ: "sign in to watch the fleet",
    Access.WRITE: "only operators can change the fleet: sign in, or send "
    "'Authorization: Bearer <token>' (create one with `goofs token create --user NAME`)",
    Access.ADMIN: "only admins can do this: sign in as one, or send an admin-scope token",
}


async def authorize(request: Request, needed: Access) -> Identity | None:
    """The caller, if `needed` is allowed to them; 401 or 403 (with why) if not."""
    if needed is Access.READ and get_state(request).settings.public_read:
        return None
    identity = await current_identity(request)
    if identity is None:
        raise NotAuthenticated(ANONYMOUS[needed])
    if reason := refusal(identity.role, identity.scope, needed):
        raise Forbidden(f"{reason} (signed in as {identity.name!r})")
    if identity.via == "session" and request.method not in SAFE_METHODS:
        await verify_csrf(request)
    return identity


async def require_viewer(request: Request) -> Identity | None:
    """Anyone may watch unless GOOFS_PUBLIC_READ=false; then any enabled account may."""
    return await authorize(request, Access.READ)


async def require_operator(request: Request, _token: Token) -> Identity:
    identity = await authorize(request, Access.WRITE)
    assert identity is not None
    return identity


async def require_admin(request: Request, _token: Token) -> Identity:
    identity = await authorize(request, Access.ADMIN)
    assert identity is not None
    return identity


POLICIES = {
    require_viewer: Access.READ,
    require_operator: Access.WRITE,
    require_admin: Access.ADMIN,
}
"""The dependencies that say what a route needs; a route's policy is the strongest it uses."""

Operator = Annotated[Identity, Depends(require_operator)]
Admin = Annotated[Identity, Depends(require_admin)]
Viewer = Annotated[Identity | None, Depends(require_viewer)]
MaybeSignedIn = Annotated[Identity | None, Depends(current_identity)]
