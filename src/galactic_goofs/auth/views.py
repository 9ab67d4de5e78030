"""Sign-in and sign-out pages, and how a refused caller is answered."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from galactic_goofs.auth import service
from galactic_goofs.auth.csrf import SESSION_COOKIE, verify_csrf
from galactic_goofs.auth.dependencies import (
    Forbidden,
    MaybeSignedIn,
    NotAuthenticated,
)
from galactic_goofs.auth.service import (
    InvalidCredentials,
    OperatorDisabled,
    Throttle,
    TooManyAttempts,
)
from galactic_goofs.deps import StateDep
from galactic_goofs.web import rendering

templates = rendering.console_templates(Path(__file__).parent / "templates")
router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only paths on this site: `//evil.example` or `https://...` would make us an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/signin", response_class=HTMLResponse)
async def signin_page(request: Request, operator: MaybeSignedIn, next: str = "/") -> Response:
    return _page(request, operator=operator, next=safe_next(next))


@router.post("/signin", dependencies=[Depends(verify_csrf)])
async def signin(
    request: Request,
    state: StateDep,
    name: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=service.MAX_PASSWORD_LENGTH)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    settings = state.settings
    address = request.client.host if request.client else "unknown"
    try:
        key = await service.sign_in(
            state.db,
            name.strip(),
            password,
            address=address,
            throttle=Throttle(
                settings.sign_in_max_failures, timedelta(seconds=settings.sign_in_window)
            ),
            lifetime=timedelta(seconds=settings.session_lifetime),
        )
    except (InvalidCredentials, OperatorDisabled, TooManyAttempts) as refused:
        # The form comes back with the reason next to it, not a bare JSON error.
        page = _page(request, error=refused.message, name=name, next=safe_next(next))
        page.status_code = refused.status_code
        if isinstance(refused, TooManyAttempts):
            page.headers["Retry-After"] = str(refused.retry_after)
        return page
    response = RedirectResponse(safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        SESSION_COOKIE,
        key,
        max_age=int(settings.session_lifetime),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/signout", dependencies=[Depends(verify_csrf)])
async def signout(request: Request, state: StateDep) -> Response:
    if key := request.cookies.get(SESSION_COOKIE):
        await state.db.write(service.sign_out, key)
    response = RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
    return response


async def not_authenticated(request: Request, error: Exception) -> Response:
    """Send a browser that asked for a page to sign in; tell an API client how to authenticate."""
    assert isinstance(error, NotAuthenticated)
    headers = {"WWW-Authenticate": "Bearer"}
    if request.headers.get("hx-request") == "true":
        # htmx swaps fragments; this makes it load the sign-in page, then come back to the board.
        headers["HX-Redirect"] = "/signin"
    elif "text/html" in request.headers.get("accept", ""):
        target = "/signin"
        if request.method == "GET":
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            target += f"?next={quote(safe_next(here))}"
        return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    return JSONResponse(
        {"detail": error.message},
        status_code=status.HTTP_401_UNAUTHORIZED,
        headers=headers,
    )


async def forbidden(request: Request, error: Exception) -> Response:
    """Say why, as a page to a browser that asked for one, as JSON to everyone else."""
    assert isinstance(error, Forbidden)
    if "text/html" in request.headers.get("accept", "") and request.method == "GET":
        return templates.TemplateResponse(
            request, "forbidden.html", {"reason": error.message}, status_code=403
        )
    return JSONResponse({"detail": error.message}, status_code=status.HTTP_403_FORBIDDEN)


def _page(
    request: Request,
    *,
    operator: service.Identity | None = None,
    error: str | None = None,
    name: str = "",
    next: str = "/",
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "signin.html",
        {"operator": operator, "error": error, "name": name, "next": next},
    )
