"""Who may use which route: every route of the app against every kind of caller, from a table.

The table names each route's access; the first test checks that the app has exactly these
routes and that each one's dependencies say the same, so a new route without a policy (or
missing from the table) fails here. The second calls every route as every kind of caller.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from sqlalchemy import update
from sqlalchemy.orm import Session

from galactic_goofs.app import create_app
from galactic_goofs.auth import service as auth
from galactic_goofs.auth.csrf import session_token
from galactic_goofs.auth.dependencies import POLICIES
from galactic_goofs.auth.models import ApiToken
from galactic_goofs.auth.policy import Access, Role, Scope
from galactic_goofs.db import utcnow
from tests import support
from tests.support import LOOPBACK_SSL, Running, running_app

READ, WRITE, ADMIN = Access.READ, Access.WRITE, Access.ADMIN
PUBLIC = None
PASSWORD = "correct horse battery"

ROUTE_ACCESS: dict[tuple[str, str], Access | None] = {
    ("GET", "/api/v1/spacecraft"): READ,
    ("POST", "/api/v1/spacecraft"): WRITE,
    ("GET", "/api/v1/spacecraft/summary"): READ,
    ("GET", "/api/v1/spacecraft/{spacecraft_id}"): READ,
    ("PATCH", "/api/v1/spacecraft/{spacecraft_id}"): WRITE,
    ("DELETE", "/api/v1/spacecraft/{spacecraft_id}"): WRITE,
    ("POST", "/api/v1/spacecraft/{spacecraft_id}/repair"): WRITE,
    ("POST", "/api/v1/spacecraft/{spacecraft_id}/malfunction"): WRITE,
    ("PUT", "/api/v1/spacecraft/{spacecraft_id}/maintenance"): WRITE,
    ("DELETE", "/api/v1/spacecraft/{spacecraft_id}/maintenance"): WRITE,
    ("PUT", "/api/v1/spacecraft/{spacecraft_id}/orbit"): WRITE,
    ("GET", "/api/v1/spacecraft/{spacecraft_id}/orbit"): READ,
    ("GET", "/api/v1/spacecraft/{spacecraft_id}/position"): READ,
    ("GET", "/api/v1/spacecraft/{spacecraft_id}/track"): READ,
    ("GET", "/api/v1/spacecraft/{spacecraft_id}/passes"): READ,
    ("GET", "/api/v1/positions"): READ,
    ("GET", "/api/v1/anomalies"): READ,
    ("GET", "/api/v1/anomalies/{anomaly_id}"): READ,
    ("POST", "/api/v1/anomalies/{anomaly_id}/acknowledge"): WRITE,
    ("POST", "/api/v1/anomalies/{anomaly_id}/assign"): WRITE,
    ("POST", "/api/v1/anomalies/{anomaly_id}/notes"): WRITE,
    ("POST", "/api/v1/anomalies/{anomaly_id}/shelve"): WRITE,
    ("POST", "/api/v1/anomalies/{anomaly_id}/unshelve"): WRITE,
    ("GET", "/api/v1/events"): READ,
    ("GET", "/api/v1/events/stream"): READ,
    ("GET", "/api/v1/operators"): ADMIN,
    ("POST", "/api/v1/operators"): ADMIN,
    ("GET", "/api/v1/operators/{name}"): ADMIN,
    ("PATCH", "/api/v1/operators/{name}"): ADMIN,
    ("GET", "/api/v1/tokens"): ADMIN,
    ("POST", "/api/v1/tokens"): ADMIN,
    ("GET", "/api/v1/tokens/{token_id}"): ADMIN,
    ("DELETE", "/api/v1/tokens/{token_id}"): ADMIN,
    ("GET", "/api/v1/audit"): ADMIN,
    ("POST", "/api/v1/webhooks"): ADMIN,
    ("GET", "/api/v1/webhooks"): ADMIN,
    ("GET", "/api/v1/webhooks/{webhook_id}"): ADMIN,
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): ADMIN,
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): ADMIN,
    ("POST", "/api/v1/webhooks/{webhook_id}/rotate-secret"): ADMIN,
    ("POST", "/api/v1/webhooks/{webhook_id}/test"): ADMIN,
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): ADMIN,
    ("POST", "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): ADMIN,
    ("GET", "/"): READ,
    ("GET", "/console/board"): READ,
    ("GET", "/console/snapshot"): READ,
    ("GET", "/console/stream"): READ,
    ("POST", "/console/spacecraft"): WRITE,
    ("GET", "/console/spacecraft/{spacecraft_id}/row"): READ,
    ("GET", "/console/spacecraft/{spacecraft_id}/edit"): READ,
    ("POST", "/console/spacecraft/{spacecraft_id}/edit"): WRITE,
    ("POST", "/console/spacecraft/{spacecraft_id}/repair"): WRITE,
    ("POST", "/console/spacecraft/{spacecraft_id}/malfunction"): WRITE,
    ("GET", "/spacecraft/{spacecraft_id}"): READ,
    ("GET", "/console/spacecraft/{spacecraft_id}/position"): READ,
    ("GET", "/console/spacecraft/{spacecraft_id}/contacts"): READ,
    ("GET", "/console/contacts"): READ,
    ("GET", "/map"): READ,
    ("POST", "/console/demo"): WRITE,
    ("GET", "/analytics"): READ,
    ("GET", "/console/analytics/charts"): READ,
    ("GET", "/api/v1/analytics/fleet"): READ,
    ("GET", "/api/v1/analytics/spacecraft.csv"): READ,
    ("GET", "/api/v1/spacecraft/{spacecraft_id}/availability"): READ,
    ("GET", "/metrics"): READ,
    ("GET", "/console/anomalies/{anomaly_id}/forms"): READ,
    ("POST", "/console/anomalies/{anomaly_id}/acknowledge"): WRITE,
    ("POST", "/console/anomalies/{anomaly_id}/unshelve"): WRITE,
    ("POST", "/console/anomalies/{anomaly_id}/assign"): WRITE,
    ("POST", "/console/anomalies/{anomaly_id}/shelve"): WRITE,
    ("POST", "/console/anomalies/{anomaly_id}/notes"): WRITE,
    ("DELETE", "/console/spacecraft/{spacecraft_id}"): WRITE,
    ("GET", "/admin"): ADMIN,
    ("POST", "/admin/operators"): ADMIN,
    ("POST", "/admin/operators/{name}/role"): ADMIN,
    ("POST", "/admin/operators/{name}/disable"): ADMIN,
    ("POST", "/admin/operators/{name}/enable"): ADMIN,
    ("POST", "/admin/operators/{name}/password"): ADMIN,
    ("POST", "/admin/tokens"): ADMIN,
    ("POST", "/admin/tokens/{token_id}/revoke"): ADMIN,
    ("GET", "/admin/webhooks"): ADMIN,
    ("POST", "/admin/webhooks"): ADMIN,
    ("POST", "/admin/webhooks/{webhook_id}/test"): ADMIN,
    ("POST", "/admin/webhooks/{webhook_id}/enabled"): ADMIN,
    ("POST", "/admin/webhooks/{webhook_id}/delete"): ADMIN,
    ("POST", "/admin/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): ADMIN,
    ("GET", "/signin"): PUBLIC,
    ("POST", "/signin"): PUBLIC,
    ("POST", "/signout"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
}

BODIES: dict[tuple[str, str], dict[str, object]] = {
    ("POST", "/api/v1/spacecraft"): {"json": {"name": "Sneaky", "cospar_id": "2000-001A"}},
    ("PATCH", "/api/v1/spacecraft/{spacecraft_id}"): {"json": {"name": "Renamed"}},
    ("POST", "/api/v1/operators"): {"json": {"name": "newbie", "password": PASSWORD}},
    ("PATCH", "/api/v1/operators/{name}"): {"json": {"role": "viewer"}},
    ("POST", "/api/v1/tokens"): {"json": {"operator": "target"}},
    ("POST", "/console/spacecraft"): {"data": {"name": "Sneaky II", "cospar_id": "2000-002A"}},
    ("POST", "/console/spacecraft/{spacecraft_id}/edit"): {
        "data": {"name": "Renamed", "cospar_id": "1990-037B", "version": "1"}
    },
    ("POST", "/admin/operators"): {"data": {"name": "newbie2", "password": PASSWORD}},
    ("POST", "/admin/operators/{name}/role"): {"data": {"role": "operator"}},
    ("POST", "/admin/operators/{name}/password"): {"data": {"password": PASSWORD}},
    ("POST", "/admin/tokens"): {"data": {"operator": "target"}},
}


def policy_of(dependant: Dependant) -> Access | None:
    """The strongest access any of a route's dependencies (at any depth) requires."""
    found = [POLICIES[call] for call in [dependant.call] if call in POLICIES]
    found += [level for sub in dependant.dependencies if (level := policy_of(sub)) is not None]
    return max(found, default=None)


def test_every_route_of_the_app_is_in_the_table_with_the_policy_it_enforces(
    tmp_path: Path,
) -> None:
    app = create_app(support.test_settings(f"sqlite:///{tmp_path}/unused.db"))
    declared: dict[tuple[str, str], Access | None] = {}
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        for method in route.methods or ():
            if method != "HEAD":
                assert route.path is not None
                declared[(method, route.path)] = None if dependant is None else policy_of(dependant)
    assert declared == ROUTE_ACCESS


@dataclass
class Caller:
    name: str
    access: Access | None
    """What it may do; None: it is not anyone (anonymous, or an expired token): 401."""
    client: httpx.AsyncClient
    csrf: dict[str, str]


async def signed_in(goofs: Running, name: str, stack: AsyncExitStack) -> httpx.AsyncClient:
    browser = await stack.enter_async_context(
        httpx.AsyncClient(base_url=goofs.url, timeout=30, verify=LOOPBACK_SSL)
    )
    page = await browser.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    response = await browser.post(
        "/signin", data={"name": name, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert response.status_code == 303, response.text
    return browser


def session_csrf(browser: httpx.AsyncClient) -> dict[str, str]:
    return {"X-CSRF-Token": session_token(browser.cookies["goofs_session"])}


@pytest.fixture
async def strict(sqlite_url: str) -> AsyncIterator[Running]:
    """The app with GOOFS_PUBLIC_READ=false, so reading needs an account too."""
    async with running_app(support.test_settings(sqlite_url, public_read=False)) as goofs:
        yield goofs


async def add(goofs: Running, name: str, role: Role) -> None:
    await auth.add_operator(goofs.state.db, name, PASSWORD, role=role)


async def token(goofs: Running, name: str, scope: Scope | None = None) -> str:
    change = await goofs.state.db.write(auth.issue_token, name, scope=scope)
    assert change.secret is not None
    return change.secret


async def test_every_route_admits_exactly_the_callers_its_policy_names(strict: Running) -> None:
    goofs = strict
    for name, role in [("vera", Role.VIEWER), ("otto", Role.OPERATOR), ("ada", Role.ADMIN)]:
        await add(goofs, name, role)
    await add(goofs, "target", Role.OPERATOR)
    target_token = (await goofs.state.db.write(auth.issue_token, "target")).token.id
    expired = await token(goofs, "ada", Scope.ADMIN)
    await goofs.state.db.write(
        Session.execute,
        update(ApiToken)
        .where(ApiToken.token_hash == auth.digest(expired))
        .values(expires_at=utcnow() - timedelta(seconds=1)),
    )
    craft = await goofs.client.post(
        "/api/v1/spacecraft", json={"name": "Hubble", "cospar_id": "1990-037B"}
    )
    params = {
        "spacecraft_id": craft.json()["id"],
        "name": "target",
        "token_id": target_token,
        "anomaly_id": uuid.uuid4(),
        "webhook_id": uuid.uuid4(),
        "delivery_id": 1,
    }

    async with AsyncExitStack() as stack:

        async def bearer(secret: str) -> httpx.AsyncClient:
            return await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=goofs.url,
                    timeout=30,
                    verify=LOOPBACK_SSL,
                    headers={"Authorization": f"Bearer {secret}"},
                )
            )

        anonymous = await stack.enter_async_context(
            httpx.AsyncClient(base_url=goofs.url, timeout=30, verify=LOOPBACK_SSL)
        )
        sessions = {name: await signed_in(goofs, name, stack) for name in ("vera", "otto", "ada")}
        callers = [
            Caller("anonymous", None, anonymous, {}),
            Caller("viewer signed in", READ, sessions["vera"], session_csrf(sessions["vera"])),
            Caller("operator signed in", WRITE, sessions["otto"], session_csrf(sessions["otto"])),
            Caller("admin signed in", ADMIN, sessions["ada"], session_csrf(sessions["ada"])),
            Caller("viewer's token", READ, await bearer(await token(goofs, "vera")), {}),
            Caller("operator's token", WRITE, await bearer(await token(goofs, "otto")), {}),
            Caller(
                "admin's read token", READ, await bearer(await token(goofs, "ada", Scope.READ)), {}
            ),
            Caller(
                "admin's write token",
                WRITE,
                await bearer(await token(goofs, "ada", Scope.WRITE)),
                {},
            ),
            Caller(
                "admin's admin token",
                ADMIN,
                await bearer(await token(goofs, "ada", Scope.ADMIN)),
                {},
            ),
            Caller("expired admin token", None, await bearer(expired), {}),
        ]

        wrong: list[str] = []
        for (method, path), needed in ROUTE_ACCESS.items():
            if needed is PUBLIC:
                continue
            url = path.format(**params)
            for caller in callers:
                if caller.access is None:
                    expected = "401"
                elif caller.access >= needed:
                    expected = "allowed"
                else:
                    expected = "403"
                async with caller.client.stream(
                    method, url, headers=caller.csrf, **BODIES.get((method, path), {})
                ) as response:
                    status = response.status_code
                got = str(status) if status in (401, 403) else "allowed"
                if got != expected:
                    wrong.append(f"{method} {path} as {caller.name}: {status}, not {expected}")
    assert wrong == []
