"""The console's own write routes: operators only, and only from the console's own pages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support import LOOPBACK_SSL, OPERATOR, OPERATOR_PASSWORD, Running

HUBBLE = {"name": "Hubble Space Telescope", "cospar_id": "1990-037B"}


def console_writes(craft_id: str) -> list[tuple[str, str, dict[str, str] | None]]:
    path = f"/console/spacecraft/{craft_id}"
    return [
        ("POST", "/console/spacecraft", {"name": "Sneaky", "cospar_id": "2000-001A"}),
        ("POST", f"{path}/edit", {"name": "Renamed", "cospar_id": "1990-037B", "version": "2"}),
        ("POST", f"{path}/repair", None),
        ("POST", f"{path}/malfunction", None),
        ("DELETE", path, None),
    ]


async def broken_hubble(goofs: Running) -> str:
    craft = (await goofs.client.post("/api/v1/spacecraft", json=HUBBLE)).json()
    await goofs.client.post(f"/api/v1/spacecraft/{craft['id']}/malfunction")
    craft_id: str = craft["id"]
    return craft_id


@pytest.fixture
async def browser(goofs_sqlite: Running) -> AsyncIterator[httpx.AsyncClient]:
    """A browser that has not signed in (yet)."""
    async with httpx.AsyncClient(
        base_url=goofs_sqlite.url, timeout=30, verify=LOOPBACK_SSL
    ) as client:
        yield client


async def sign_in(browser: httpx.AsyncClient) -> str:
    """Signs the browser in through the form; returns its session's CSRF token."""
    page = await browser.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    response = await browser.post(
        "/signin",
        data={"name": OPERATOR, "password": OPERATOR_PASSWORD, "csrf_token": token.group(1)},
    )
    assert response.status_code == 303, response.text
    page = await browser.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    return token.group(1)


async def test_console_writes_refuse_viewers(
    goofs_sqlite: Running, browser: httpx.AsyncClient
) -> None:
    craft_id = await broken_hubble(goofs_sqlite)
    htmx = {"HX-Request": "true"}

    for method, path, form in console_writes(craft_id):
        response = await browser.request(method, path, data=form, headers=htmx)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["hx-redirect"] == "/signin", "htmx loads the sign-in page"

    craft = (await goofs_sqlite.client.get(f"/api/v1/spacecraft/{craft_id}")).json()
    assert (craft["name"], craft["status"]) == ("Hubble Space Telescope", "MALFUNCTIONING")
    assert (await goofs_sqlite.client.get("/api/v1/spacecraft/summary")).json()["total"] == 1


async def test_a_viewer_sees_the_board_without_the_controls(
    goofs_sqlite: Running, browser: httpx.AsyncClient
) -> None:
    await broken_hubble(goofs_sqlite)

    page = (await browser.get("/")).text

    assert 'data-role="viewer"' in page
    assert "Hubble Space Telescope" in page
    assert 'id="create-form"' not in page
    assert '<a href="/signin">' in page
    async with browser.stream("GET", "/console/stream") as stream:
        assert stream.status_code == 200


async def test_a_signed_in_operator_uses_the_console_with_its_token(
    goofs_sqlite: Running, browser: httpx.AsyncClient
) -> None:
    craft_id = await broken_hubble(goofs_sqlite)
    token = await sign_in(browser)
    page = (await browser.get("/")).text
    assert 'data-role="operator"' in page
    assert f'hx-headers=\'{{"X-CSRF-Token": "{token}"}}\'' in page
    htmx = {"HX-Request": "true", "X-CSRF-Token": token}

    statuses = []
    for method, path, form in console_writes(craft_id):
        response = await browser.request(method, path, data=form, headers=htmx)
        statuses.append(response.status_code)

    assert statuses == [200, 200, 204, 204, 204]
    events = (await goofs_sqlite.client.get("/api/v1/events")).json()["items"]
    assert [event["actor"] for event in events][-5:] == [OPERATOR] * 5


async def test_console_writes_without_the_token_or_from_elsewhere_are_refused(
    goofs_sqlite: Running, browser: httpx.AsyncClient
) -> None:
    craft_id = await broken_hubble(goofs_sqlite)
    token = await sign_in(browser)
    elsewhere = {"Origin": "https://evil.example", "X-CSRF-Token": token}

    for method, path, form in console_writes(craft_id):
        missing = await browser.request(method, path, data=form)
        foreign = await browser.request(method, path, data=form, headers=elsewhere)
        assert missing.status_code == 403, (method, path, missing.text)
        assert foreign.status_code == 403, (method, path, foreign.text)

    craft = (await goofs_sqlite.client.get(f"/api/v1/spacecraft/{craft_id}")).json()
    assert (craft["name"], craft["status"]) == ("Hubble Space Telescope", "MALFUNCTIONING")
    assert (await goofs_sqlite.client.get("/api/v1/spacecraft/summary")).json()["total"] == 1
