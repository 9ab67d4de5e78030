"""Revocation holds across instances: two `goofs serve` processes on one PostgreSQL and Redis.

What one instance revokes, the other refuses within two seconds, though it remembered the
credential as valid a moment before.
"""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.cluster import cluster_env, instances
from tests.support import cli_token, run_goofs, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

PASSWORD = "correct horse battery"
PROMISE = 2.0


def admin_token(env: dict[str, str], cwd: Path) -> str:
    added = run_goofs(["user", "add", "chief", "--role", "admin"], env, cwd, f"{PASSWORD}\n")
    assert added.returncode == 0, added.stderr
    created = run_goofs(["token", "create", "--user", "chief", "--scope", "admin"], env, cwd)
    assert created.returncode == 0, created.stderr
    return created.stdout.split()[-1]


def a_write(client: httpx.AsyncClient, headers: dict[str, str] | None = None) -> object:
    """A write that changes nothing: repairing a spacecraft that does not exist (404 when
    allowed, 401 when refused)."""
    return client.post(f"/api/v1/spacecraft/{uuid.uuid4()}/repair", headers=headers)


async def refused_within(promise: float, write: object) -> float:
    started = time.monotonic()

    async def refused() -> bool:
        response = await write()  # type: ignore[operator]
        assert response.status_code in (401, 404), response.text
        return bool(response.status_code == 401)

    await wait_until(refused, timeout=promise, interval=0.01, message="the refusal")
    return time.monotonic() - started


async def test_a_token_revoked_on_one_instance_is_refused_by_the_other_within_two_seconds(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = cluster_env(postgres_url, redis_url)
    with instances(2, env, tmp_path) as (a, b):
        operator = {"Authorization": f"Bearer {cli_token(env, tmp_path)}"}
        chief = {"Authorization": f"Bearer {admin_token(env, tmp_path)}"}
        async with (
            httpx.AsyncClient(base_url=a.url, headers=chief) as admin_on_a,
            httpx.AsyncClient(base_url=b.url, headers=operator) as on_b,
        ):
            for _ in range(3):  # B knows the token now, and remembers it
                assert (await a_write(on_b)).status_code == 404
            [token] = (await admin_on_a.get("/api/v1/tokens?operator=operator")).json()
            assert (await admin_on_a.delete(f"/api/v1/tokens/{token['id']}")).status_code == 204
            took = await refused_within(PROMISE, lambda: a_write(on_b))

    print(f"revoked on A, refused on B after {took * 1000:.0f} ms")


async def test_an_operator_disabled_on_one_instance_loses_their_browser_session_on_the_other(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = cluster_env(postgres_url, redis_url)
    with instances(2, env, tmp_path) as (a, b):
        chief = {"Authorization": f"Bearer {admin_token(env, tmp_path)}"}
        async with (
            httpx.AsyncClient(base_url=a.url, headers=chief) as admin_on_a,
            httpx.AsyncClient(base_url=b.url) as browser_on_b,
        ):
            added = await admin_on_a.post(
                "/api/v1/operators", json={"name": "kane", "password": PASSWORD}
            )
            assert added.status_code == 201, added.text
            page = await browser_on_b.get("/signin")
            form_token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert form_token
            signed_in = await browser_on_b.post(
                "/signin",
                data={"name": "kane", "password": PASSWORD, "csrf_token": form_token.group(1)},
            )
            assert signed_in.status_code == 303, signed_in.text
            page = await browser_on_b.get("/signin")
            session_token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert session_token
            csrf = {"X-CSRF-Token": session_token.group(1)}
            for _ in range(3):
                assert (await a_write(browser_on_b, csrf)).status_code == 404

            disabled = await admin_on_a.patch("/api/v1/operators/kane", json={"enabled": False})
            assert disabled.status_code == 200, disabled.text
            took = await refused_within(PROMISE, lambda: a_write(browser_on_b, csrf))
            assert "Signed in as" not in (await browser_on_b.get("/signin")).text

    print(f"disabled on A, session refused on B after {took * 1000:.0f} ms")
