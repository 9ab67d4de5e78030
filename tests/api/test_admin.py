"""Administering operators and tokens: the admin API, the audit log, sessions that end,
CSRF tokens bound to their session, and the admin page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from galactic_goofs.auth import service as auth
from galactic_goofs.auth.models import ApiToken
from galactic_goofs.auth.policy import Role
from galactic_goofs.db import utcnow
from tests.support import LOOPBACK_SSL, Running, wait_until

PASSWORD = "correct horse battery"
HUBBLE = {"name": "Hubble Space Telescope", "cospar_id": "1990-037B"}


async def admin_client(goofs: Running, name: str = "chief") -> httpx.AsyncClient:
    await auth.add_operator(goofs.state.db, name, PASSWORD, role=Role.ADMIN)
    change = await goofs.state.db.write(auth.issue_token, name, scope=auth.Scope.ADMIN)
    return httpx.AsyncClient(
        base_url=goofs.url,
        timeout=30,
        verify=LOOPBACK_SSL,
        headers={"Authorization": f"Bearer {change.secret}"},
    )


@pytest.fixture
async def admin(goofs: Running) -> AsyncIterator[httpx.AsyncClient]:
    async with await admin_client(goofs) as client:
        yield client


@asynccontextmanager
async def sign_in(goofs: Running, name: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=goofs.url, timeout=30, verify=LOOPBACK_SSL) as browser:
        response = await browser.post(
            "/signin",
            data={"name": name, "password": PASSWORD, "csrf_token": await page_token(browser)},
        )
        assert response.status_code == 303, response.text
        yield browser


async def page_token(browser: httpx.AsyncClient) -> str:
    page = await browser.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    return token.group(1)


async def test_the_last_admin_can_be_neither_demoted_nor_disabled(
    goofs: Running, admin: httpx.AsyncClient
) -> None:
    demoted = await admin.patch("/api/v1/operators/chief", json={"role": "operator"})
    disabled = await admin.patch("/api/v1/operators/chief", json={"enabled": False})

    for refused, change in ((demoted, "made operator"), (disabled, "disabled")):
        assert refused.status_code == 409, refused.text
        assert refused.json()["detail"] == (
            f"'chief' is the last enabled admin and cannot be {change}: "
            "make another operator an admin first"
        )
    # With a second admin, the first may step down.
    added = await admin.post(
        "/api/v1/operators", json={"name": "deputy", "password": PASSWORD, "role": "admin"}
    )
    assert added.status_code == 201
    assert added.headers["location"] == "/api/v1/operators/deputy"
    stepped_down = await admin.patch("/api/v1/operators/chief", json={"role": "operator"})
    assert stepped_down.status_code == 200
    assert stepped_down.json()["role"] == "operator"


async def test_a_token_is_shown_once_and_revoking_it_refuses_it(
    goofs: Running, admin: httpx.AsyncClient
) -> None:
    created = await admin.post(
        "/api/v1/tokens", json={"operator": "operator", "scope": "read", "expires_in_days": 7}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    secret, token_id = body["token"], body["id"]
    assert secret.startswith("goofs_")
    assert (body["operator"], body["scope"]) == ("operator", "read")
    assert body["expires_at"] is not None
    listed = await admin.get("/api/v1/tokens", params={"operator": "operator"})
    assert secret not in listed.text
    assert token_id in [token["id"] for token in listed.json()]
    assert "token" not in (await admin.get(f"/api/v1/tokens/{token_id}")).json()

    reader = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(base_url=goofs.url, verify=LOOPBACK_SSL) as client:
        assert (await client.get("/api/v1/spacecraft", headers=reader)).status_code == 200
        write = await client.post("/api/v1/spacecraft", json=HUBBLE, headers=reader)
        assert write.status_code == 403
        assert write.json()["detail"].startswith("a token with scope 'read' may not change")
        assert (await admin.delete(f"/api/v1/tokens/{token_id}")).status_code == 204
        assert (await admin.delete(f"/api/v1/tokens/{token_id}")).status_code == 404

        async def refused() -> bool:
            response = await client.post("/api/v1/spacecraft", json=HUBBLE, headers=reader)
            return response.status_code == 401

        await wait_until(refused, timeout=2, message="the revoked token to be refused")


async def test_a_token_cannot_claim_more_than_its_owner(admin: httpx.AsyncClient) -> None:
    await admin.post(
        "/api/v1/operators", json={"name": "vera", "password": PASSWORD, "role": "viewer"}
    )
    response = await admin.post("/api/v1/tokens", json={"operator": "vera", "scope": "write"})
    assert response.status_code == 422
    assert "'vera' is a viewer" in response.json()["detail"]
    assert (await admin.post("/api/v1/tokens", json={"operator": "nobody"})).status_code == 404


async def test_admin_actions_are_audited_with_who_and_never_a_secret(
    goofs_sqlite: Running,
) -> None:
    async with await admin_client(goofs_sqlite) as admin:
        await admin.post("/api/v1/operators", json={"name": "newt", "password": PASSWORD})
        await admin.patch("/api/v1/operators/newt", json={"role": "viewer"})
        await admin.patch("/api/v1/operators/newt", json={"enabled": False})
        await admin.patch("/api/v1/operators/newt", json={"enabled": True})
        await admin.patch("/api/v1/operators/newt", json={"password": "another password"})
        created = (await admin.post("/api/v1/tokens", json={"operator": "newt"})).json()
        await admin.delete(f"/api/v1/tokens/{created['id']}")
        audit = (await admin.get("/api/v1/audit")).json()

    entries = [(e["actor"], e["action"], e["target"]) for e in reversed(audit["items"])]
    assert entries[-7:] == [
        ("chief", "operator.added", "newt"),
        ("chief", "operator.role_changed", "newt"),
        ("chief", "operator.disabled", "newt"),
        ("chief", "operator.enabled", "newt"),
        ("chief", "operator.password_changed", "newt"),
        ("chief", "token.created", f"token {created['id']}"),
        ("chief", "token.revoked", f"token {created['id']}"),
    ]
    text = str(audit)
    assert PASSWORD not in text and "another password" not in text
    assert created["token"] not in text
    assert audit["items"][0]["at"] >= audit["items"][-1]["at"]


@pytest.mark.parametrize(
    "change",
    [{"password": "a brand new password"}, {"role": "viewer"}, {"enabled": False}],
    ids=["password", "role", "disable"],
)
async def test_a_password_role_or_enabled_change_ends_the_operators_browser_sessions(
    goofs_sqlite: Running, change: dict[str, object]
) -> None:
    async with await admin_client(goofs_sqlite) as admin:
        await admin.post("/api/v1/operators", json={"name": "kane", "password": PASSWORD})
        async with sign_in(goofs_sqlite, "kane") as browser:
            csrf = {"X-CSRF-Token": await page_token(browser)}
            assert (
                await browser.post("/api/v1/spacecraft", json=HUBBLE, headers=csrf)
            ).status_code == 201
            assert (await admin.patch("/api/v1/operators/kane", json=change)).status_code == 200

            async def signed_out() -> bool:
                response = await browser.post(
                    "/api/v1/spacecraft", json={**HUBBLE, "cospar_id": "1990-037C"}, headers=csrf
                )
                return response.status_code == 401

            await wait_until(signed_out, timeout=2, message="the session to end")


async def test_a_disabled_operator_cannot_sign_in(goofs_sqlite: Running) -> None:
    async with await admin_client(goofs_sqlite) as admin:
        await admin.post("/api/v1/operators", json={"name": "ash", "password": PASSWORD})
        await admin.patch("/api/v1/operators/ash", json={"enabled": False})
    async with httpx.AsyncClient(base_url=goofs_sqlite.url, verify=LOOPBACK_SSL) as browser:
        token = await page_token(browser)
        response = await browser.post(
            "/signin", data={"name": "ash", "password": PASSWORD, "csrf_token": token}
        )
    assert response.status_code == 403
    assert "disabled" in response.text


async def test_a_csrf_token_from_one_session_is_refused_in_another(goofs_sqlite: Running) -> None:
    await auth.add_operator(goofs_sqlite.state.db, "parker", PASSWORD)
    async with (
        sign_in(goofs_sqlite, "parker") as first,
        sign_in(goofs_sqlite, "parker") as second,
    ):
        first_token, second_token = await page_token(first), await page_token(second)
        assert first_token != second_token
        crossed = await second.post(
            "/api/v1/spacecraft", json=HUBBLE, headers={"X-CSRF-Token": first_token}
        )
        own = await second.post(
            "/api/v1/spacecraft", json=HUBBLE, headers={"X-CSRF-Token": second_token}
        )
    assert crossed.status_code == 403
    assert "security token" in crossed.json()["detail"]
    assert own.status_code == 201


async def test_the_admin_page_is_for_admins_only(goofs_sqlite: Running) -> None:
    await auth.add_operator(goofs_sqlite.state.db, "otto", PASSWORD)
    await auth.add_operator(goofs_sqlite.state.db, "ada", PASSWORD, role=Role.ADMIN)
    html = {"Accept": "text/html"}
    async with httpx.AsyncClient(base_url=goofs_sqlite.url, verify=LOOPBACK_SSL) as anonymous:
        redirected = await anonymous.get("/admin", headers=html)
    async with sign_in(goofs_sqlite, "otto") as operator:
        refused = await operator.get("/admin", headers=html)
        board = await operator.get("/")
    async with sign_in(goofs_sqlite, "ada") as admin:
        page = await admin.get("/admin", headers=html)
        board_for_admin = await admin.get("/")

    assert redirected.status_code == 303
    assert redirected.headers["location"] == "/signin?next=/admin"
    assert refused.status_code == 403
    assert "an operator may not administer" in refused.text.lower()
    assert 'href="/admin"' not in board.text
    assert page.status_code == 200
    assert 'id="operator-otto"' in page.text
    assert 'href="/admin"' in board_for_admin.text


async def test_the_admin_page_adds_operators_creates_tokens_once_and_revokes_them(
    goofs_sqlite: Running,
) -> None:
    await auth.add_operator(goofs_sqlite.state.db, "ada", PASSWORD, role=Role.ADMIN)
    async with sign_in(goofs_sqlite, "ada") as admin:
        csrf = {"csrf_token": await page_token(admin)}
        added = await admin.post(
            "/admin/operators",
            data={**csrf, "name": "newt", "password": PASSWORD, "role": "viewer"},
        )
        duplicate = await admin.post(
            "/admin/operators", data={**csrf, "name": "newt", "password": PASSWORD}
        )
        created = await admin.post(
            "/admin/tokens", data={**csrf, "operator": "newt", "expires_in_days": "3"}
        )
        secret = re.search(r'id="new-token" readonly value="(goofs_[^"]+)"', created.text)
        demote_self = await admin.post("/admin/operators/ada/role", data={**csrf, "role": "viewer"})
        again = await admin.get("/admin")
        token_id = re.search(r'action="/admin/tokens/(\d+)/revoke"', again.text)
        assert token_id
        revoked = await admin.post(f"/admin/tokens/{token_id.group(1)}/revoke", data=csrf)

    assert added.status_code == 200 and "Operator newt added." in added.text
    assert duplicate.status_code == 409 and "already exists" in duplicate.text
    assert created.status_code == 200 and secret
    assert secret.group(1) not in again.text, "a token is shown once"
    assert demote_self.status_code == 409 and "last enabled admin" in demote_self.text
    assert revoked.status_code == 200 and f"Token {token_id.group(1)} revoked." in revoked.text
    assert "token.revoked" in revoked.text


async def test_token_use_is_recorded_as_last_used(goofs_sqlite: Running) -> None:
    await goofs_sqlite.client.get("/api/v1/spacecraft")
    await goofs_sqlite.client.post("/api/v1/spacecraft", json=HUBBLE)
    await goofs_sqlite.state.auth.flush_usage()
    async with goofs_sqlite.state.db.reading() as session:
        tokens = await auth.list_tokens(session, "operator")
    assert tokens[0].last_used_at is not None


async def test_a_remembered_token_is_refused_once_it_expires(goofs_sqlite: Running) -> None:
    """Expiry needs no change of the generation: the remembered identity carries it."""
    change = await goofs_sqlite.state.db.write(auth.issue_token, "operator")
    soon = utcnow() + timedelta(seconds=3)  # room for a loaded machine's first request
    await goofs_sqlite.state.db.write(
        Session.execute,
        update(ApiToken).where(ApiToken.id == change.token.id).values(expires_at=soon),
    )
    headers = {"Authorization": f"Bearer {change.secret}"}
    async with httpx.AsyncClient(base_url=goofs_sqlite.url, verify=LOOPBACK_SSL) as client:
        assert (
            await client.post("/api/v1/spacecraft", json=HUBBLE, headers=headers)
        ).status_code == 201

        async def refused() -> bool:
            response = await client.patch(
                "/api/v1/spacecraft/00000000-0000-0000-0000-000000000000",
                json={"name": "x"},
                headers=headers,
            )
            return response.status_code == 401

        await wait_until(refused, timeout=8, message="the expired token to be refused")
    assert utcnow() >= soon


async def test_enabled_takes_a_boolean_not_a_number(admin: httpx.AsyncClient) -> None:
    """The schema says boolean; 0 or "no" would otherwise pass as false and disable someone."""
    for value in (0, "no"):
        response = await admin.patch("/api/v1/operators/operator", json={"enabled": value})
        assert response.status_code == 422, value
    assert (await admin.get("/api/v1/operators/operator")).json()["enabled"] is True
