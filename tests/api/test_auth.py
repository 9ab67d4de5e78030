"""Who may change the fleet: operators with a token or a signed-in browser; anyone may watch."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from galactic_goofs.auth import service as auth_service
from galactic_goofs.auth.csrf import CsrfCookieMiddleware, install_template_helpers
from galactic_goofs.auth.models import ApiToken, Operator
from galactic_goofs.auth.policy import Access
from tests import support
from tests.api.test_roles import ROUTE_ACCESS
from tests.support import LOOPBACK_SSL, Running, operator_token, running_app, wait_until

HUBBLE = {"name": "Hubble Space Telescope", "cospar_id": "1990-037B"}
PASSWORD = "correct horse battery"


def write_routes(craft_id: str) -> list[tuple[str, str, dict[str, object] | None]]:
    path = f"/api/v1/spacecraft/{craft_id}"
    return [
        ("POST", "/api/v1/spacecraft", {"name": "Sneaky", "cospar_id": "2000-001A"}),
        ("PATCH", path, {"name": "Renamed"}),
        ("POST", f"{path}/malfunction", None),
        ("POST", f"{path}/repair", None),
        ("DELETE", path, None),
    ]


@pytest.fixture
async def anonymous(goofs: Running) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=goofs.url, timeout=30, verify=LOOPBACK_SSL) as client:
        yield client


@asynccontextmanager
async def signed_in_browser(goofs: Running, name: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client that behaves like a browser: reads the form, posts it, keeps cookies."""
    await operator_token(goofs.state, name, PASSWORD)
    async with httpx.AsyncClient(base_url=goofs.url, timeout=30, verify=LOOPBACK_SSL) as browser:
        token = await form_token(browser)
        response = await browser.post(
            "/signin", data={"name": name, "password": PASSWORD, "csrf_token": token, "next": "/"}
        )
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/"
        yield browser


async def form_token(browser: httpx.AsyncClient) -> str:
    page = await browser.get("/signin")
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


async def test_every_write_route_refuses_anonymous_callers(
    goofs: Running, anonymous: httpx.AsyncClient
) -> None:
    craft = (await goofs.client.post("/api/v1/spacecraft", json=HUBBLE)).json()

    for method, path, body in write_routes(craft["id"]):
        response = await anonymous.request(method, path, json=body)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
        assert "goofs token create" in response.json()["detail"]

    unchanged = (await anonymous.get(f"/api/v1/spacecraft/{craft['id']}")).json()
    assert unchanged == craft
    events = (await anonymous.get("/api/v1/events")).json()
    assert [event["type"] for event in events["items"]] == ["spacecraft.created"]


async def test_every_write_route_accepts_an_operator(goofs: Running) -> None:
    craft = (await goofs.client.post("/api/v1/spacecraft", json=HUBBLE)).json()

    expected = [201, 200, 200, 200, 204]
    for (method, path, body), status in zip(write_routes(craft["id"]), expected, strict=True):
        response = await goofs.client.request(method, path, json=body)
        assert response.status_code == status, (method, path, response.text)


async def test_a_wrong_token_is_refused_with_a_clear_reason(
    goofs: Running, anonymous: httpx.AsyncClient
) -> None:
    headers = {"Authorization": "Bearer goofs_not-a-real-token"}
    response = await anonymous.post("/api/v1/spacecraft", json=HUBBLE, headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"].startswith("the API token is not valid")


async def test_a_valid_token_is_remembered_until_any_credential_changes_and_a_wrong_one_never(
    goofs: Running, anonymous: httpx.AsyncClient
) -> None:
    token = await operator_token(goofs.state, "bishop")
    headers = {"Authorization": f"Bearer {token}"}
    auth = goofs.state.auth
    await wait_until(lambda: auth.generation >= 0, message="the first read of the generation")
    first = await anonymous.post("/api/v1/spacecraft", json=HUBBLE, headers=headers)
    assert first.status_code == 201
    looked_up = auth.lookups
    # Gone from the database behind the app's back (no generation bump): still remembered,
    # so the next writes do not read the database for it...
    await goofs.state.db.write(Session.execute, delete(ApiToken))
    for name in ("Hubble", "Hubble ST"):
        renamed = await anonymous.patch(
            first.headers["Location"], json={"name": name}, headers=headers
        )
        assert renamed.status_code == 200
    assert auth.lookups == looked_up
    # ...until a credential changes anywhere (here: another operator's token is revoked).
    other = await goofs.state.db.write(auth_service.issue_token, "operator")
    await goofs.state.db.write(auth_service.revoke_token, other.token.id)
    await wait_until(
        lambda: auth.known.currsize == 0, timeout=2, message="the instance forgets what it knew"
    )
    refused = await anonymous.patch(first.headers["Location"], json={"name": "H"}, headers=headers)
    assert refused.status_code == 401

    looked_up = auth.lookups
    wrong = {"Authorization": "Bearer goofs_not-a-real-token"}
    for _ in range(2):
        response = await anonymous.post("/api/v1/spacecraft", json=HUBBLE, headers=wrong)
        assert response.status_code == 401
    assert auth.lookups == looked_up + 2, "a wrong token is looked up every time"


async def test_events_record_the_acting_operator(goofs: Running) -> None:
    token = await operator_token(goofs.state, "ellen.ripley")
    headers = {"Authorization": f"Bearer {token}"}
    await goofs.client.post("/api/v1/spacecraft", json=HUBBLE, headers=headers)

    events = (await goofs.client.get("/api/v1/events")).json()["items"]
    assert [event["actor"] for event in events] == ["ellen.ripley"]


async def test_a_viewer_may_watch_the_stream_without_signing_in(
    goofs: Running, anonymous: httpx.AsyncClient
) -> None:
    async with anonymous.stream("GET", "/api/v1/events/stream") as stream:
        assert stream.status_code == 200
        lines = (line async for line in stream.aiter_lines() if line)
        assert (await anext(lines)).startswith("retry:")
        await goofs.client.post("/api/v1/spacecraft", json=HUBBLE)
        received = [await anext(lines) for _ in range(3)]
    assert received[:2] == ["id: 1", "event: spacecraft.created"]
    assert '"actor":"operator"' in received[2]


async def test_passwords_and_tokens_are_stored_only_hashed(goofs: Running) -> None:
    token = await operator_token(goofs.state, "dallas", PASSWORD)

    async with goofs.state.db.reading() as session:
        operator = await session.scalar(select(Operator).where(Operator.name == "dallas"))
        hashes = list(await session.scalars(select(ApiToken.token_hash)))
    assert operator is not None
    assert operator.password_hash.startswith("$argon2id$")
    assert PASSWORD not in operator.password_hash
    assert token not in hashes
    assert all(len(value) == 64 for value in hashes)


async def test_signing_in_sets_a_safe_session_cookie_that_allows_writes(goofs: Running) -> None:
    async with signed_in_browser(goofs, "kane") as browser:
        page = await browser.get("/signin")
        assert "Signed in as <strong>kane</strong>" in page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token

        created = await browser.post(
            "/api/v1/spacecraft", json=HUBBLE, headers={"X-CSRF-Token": token.group(1)}
        )
        assert created.status_code == 201, created.text

    events = (await goofs.client.get("/api/v1/events")).json()["items"]
    assert [event["actor"] for event in events] == ["kane"]


async def test_the_session_cookie_is_http_only_and_same_site(goofs: Running) -> None:
    await operator_token(goofs.state, "lambert", PASSWORD)
    async with httpx.AsyncClient(base_url=goofs.url, verify=LOOPBACK_SSL) as browser:
        token = await form_token(browser)
        response = await browser.post(
            "/signin", data={"name": "lambert", "password": PASSWORD, "csrf_token": token}
        )
    session_cookie = next(
        header
        for header in response.headers.get_list("set-cookie")
        if header.startswith("goofs_session=")
    )
    attributes = {part.strip().lower() for part in session_cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    # Plain http on loopback; behind https the cookie is also marked Secure.
    assert "secure" not in attributes


async def test_a_cookie_write_without_the_csrf_token_is_refused(goofs: Running) -> None:
    async with signed_in_browser(goofs, "parker") as browser:
        response = await browser.post("/api/v1/spacecraft", json=HUBBLE)
    assert response.status_code == 403
    assert "security token" in response.json()["detail"]
    assert (await goofs.client.get("/api/v1/spacecraft")).json()["total"] == 0


async def test_a_form_post_from_another_origin_is_refused(goofs: Running) -> None:
    craft = (await goofs.client.post("/api/v1/spacecraft", json=HUBBLE)).json()
    await goofs.client.post(f"/api/v1/spacecraft/{craft['id']}/malfunction")
    async with signed_in_browser(goofs, "brett") as browser:
        evil = {"Origin": "https://evil.example", "Referer": "https://evil.example/prank"}
        # What a hostile page's auto-submitting form sends: our cookies, but not our token.
        repair = await browser.post(
            f"/api/v1/spacecraft/{craft['id']}/repair", data={}, headers=evil
        )
        sign_out = await browser.post("/signout", data={}, headers=evil)
        # Even a stolen token does not help a post that says it comes from elsewhere.
        token = await form_token(browser)
        with_token = await browser.post(
            f"/api/v1/spacecraft/{craft['id']}/repair",
            data={"csrf_token": token},
            headers=evil,
        )
        still_signed_in = await browser.get("/signin")

    assert repair.status_code == 403
    assert sign_out.status_code == 403
    assert with_token.status_code == 403
    assert "cross-site" in with_token.json()["detail"]
    assert "Signed in as" in still_signed_in.text
    fetched = (await goofs.client.get(f"/api/v1/spacecraft/{craft['id']}")).json()
    assert fetched["status"] == "MALFUNCTIONING"


async def test_signing_in_without_the_form_token_is_refused(goofs: Running) -> None:
    await operator_token(goofs.state, "ash", PASSWORD)
    async with httpx.AsyncClient(base_url=goofs.url, verify=LOOPBACK_SSL) as browser:
        response = await browser.post("/signin", data={"name": "ash", "password": PASSWORD})
    assert response.status_code == 403
    assert "goofs_session" not in response.headers.get("set-cookie", "")


async def test_a_wrong_password_shows_the_form_again(goofs: Running) -> None:
    await operator_token(goofs.state, "mother", PASSWORD)
    async with httpx.AsyncClient(base_url=goofs.url, verify=LOOPBACK_SSL) as browser:
        token = await form_token(browser)
        response = await browser.post(
            "/signin", data={"name": "mother", "password": "wrong guess", "csrf_token": token}
        )
    assert response.status_code == 401
    assert "wrong operator name or password" in response.text
    assert 'value="mother"' in response.text
    assert "goofs_session" not in response.headers.get("set-cookie", "")


async def test_repeated_failed_sign_ins_are_throttled(goofs: Running) -> None:
    await operator_token(goofs.state, "jones", PASSWORD)
    async with httpx.AsyncClient(base_url=goofs.url, verify=LOOPBACK_SSL) as browser:
        token = await form_token(browser)

        async def attempt(password: str) -> httpx.Response:
            return await browser.post(
                "/signin", data={"name": "jones", "password": password, "csrf_token": token}
            )

        failures = [await attempt(f"guess {n}") for n in range(5)]
        throttled = await attempt("another guess")
        right_but_throttled = await attempt(PASSWORD)

    assert [response.status_code for response in failures] == [401] * 5
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    assert "too many failed sign-ins" in throttled.text
    assert right_but_throttled.status_code == 429
    assert "goofs_session" not in right_but_throttled.headers.get("set-cookie", "")


async def test_signing_out_ends_the_session(goofs: Running) -> None:
    async with signed_in_browser(goofs, "bishop") as browser:
        token = await form_token(browser)
        signed_out = await browser.post("/signout", data={"csrf_token": token})
        assert signed_out.status_code == 303
        write = await browser.post(
            "/api/v1/spacecraft", json=HUBBLE, headers={"X-CSRF-Token": token}
        )
    assert write.status_code == 401
    assert (await goofs.client.get("/api/v1/spacecraft")).json()["total"] == 0


async def test_signing_in_only_redirects_within_the_site(goofs: Running) -> None:
    await operator_token(goofs.state, "hicks", PASSWORD)
    async with httpx.AsyncClient(base_url=goofs.url, verify=LOOPBACK_SSL) as browser:
        token = await form_token(browser)
        response = await browser.post(
            "/signin",
            data={
                "name": "hicks",
                "password": PASSWORD,
                "csrf_token": token,
                "next": "//evil.example/phish",
            },
        )
    assert response.status_code == 303
    assert response.headers["location"] == "/"


async def test_reading_can_require_signing_in(sqlite_url: str) -> None:
    settings = support.test_settings(sqlite_url, public_read=False)
    async with running_app(settings) as goofs:
        async with httpx.AsyncClient(
            base_url=goofs.url, timeout=30, verify=LOOPBACK_SSL
        ) as anonymous:
            api = await anonymous.get("/api/v1/spacecraft")
            stream = await anonymous.get("/api/v1/events/stream")
            page = await anonymous.get("/", headers={"Accept": "text/html"})
            sign_in_page = await anonymous.get("/signin")
        allowed = await goofs.client.get("/api/v1/spacecraft")

    assert api.status_code == 401
    assert stream.status_code == 401
    assert page.status_code == 303
    assert page.headers["location"] == "/signin?next=/"
    assert sign_in_page.status_code == 200
    assert allowed.status_code == 200


async def test_reading_is_public_by_default(goofs: Running, anonymous: httpx.AsyncClient) -> None:
    for path in ("/", "/api/v1/spacecraft", "/api/v1/events", "/api/v1/spacecraft/summary"):
        assert (await anonymous.get(path)).status_code == 200, path


async def test_behind_an_https_proxy_the_cookies_are_secure(goofs_sqlite: Running) -> None:
    await operator_token(goofs_sqlite.state, "vasquez", PASSWORD)
    # What a TLS-terminating proxy on this host adds; uvicorn trusts it from loopback.
    https = {"X-Forwarded-Proto": "https"}
    async with httpx.AsyncClient(
        base_url=goofs_sqlite.url, headers=https, verify=LOOPBACK_SSL
    ) as browser:
        page = await browser.get("/signin")
        csrf_cookie = page.headers["set-cookie"]
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        # A Secure cookie is not sent back over plain http, so hand it over as the browser would.
        response = await browser.post(
            "/signin",
            data={"name": "vasquez", "password": PASSWORD, "csrf_token": token.group(1)},
            headers={"Cookie": csrf_cookie.split(";")[0]},
        )

    assert "; Secure" in csrf_cookie
    assert response.status_code == 303, response.text
    session_cookie = next(
        header
        for header in response.headers.get_list("set-cookie")
        if header.startswith("goofs_session=")
    )
    assert "secure" in {part.strip().lower() for part in session_cookie.split(";")}


async def test_behind_a_proxy_that_rewrites_host_a_same_site_post_is_accepted(
    goofs_sqlite: Running,
) -> None:
    await operator_token(goofs_sqlite.state, "gorman", PASSWORD)
    async with httpx.AsyncClient(base_url=goofs_sqlite.url, verify=LOOPBACK_SSL) as browser:
        token = await form_token(browser)
        public = {"Origin": "https://goofs.example", "X-Forwarded-Host": "goofs.example"}
        response = await browser.post(
            "/signin",
            data={"name": "gorman", "password": PASSWORD, "csrf_token": token},
            headers=public,
        )
    assert response.status_code == 303, response.text


async def test_any_console_template_can_render_the_csrf_field(tmp_path: Path) -> None:
    """What a console page needs: the helpers installed on its templates, one tag per form."""
    (tmp_path / "form.html").write_text("<form>{{ csrf_field(request) }}</form>")
    templates = Jinja2Templates(directory=tmp_path)
    install_template_helpers(templates)
    app = FastAPI()

    @app.get("/form")
    async def form(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "form.html")

    transport = httpx.ASGITransport(app=CsrfCookieMiddleware(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as browser:
        first = await browser.get("/form")
        again = await browser.get("/form")

    field = re.search(r'<input type="hidden" name="csrf_token" value="([^"]+)">', first.text)
    assert field
    assert first.cookies["goofs_csrf"] == field.group(1)
    assert "set-cookie" not in again.headers, "the browser keeps its token"
    assert field.group(1) in again.text


async def test_the_schema_shows_that_every_write_and_admin_route_and_no_read_needs_an_api_token(
    goofs_sqlite: Running,
) -> None:
    schema = (await goofs_sqlite.client.get("/openapi.json")).json()

    scheme = schema["components"]["securitySchemes"]["APIToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            needs_token = operation.get("security") == [{"APIToken": []}]
            access = ROUTE_ACCESS[(method.upper(), path)]
            assert needs_token == (access in (Access.WRITE, Access.ADMIN)), (method, path)
