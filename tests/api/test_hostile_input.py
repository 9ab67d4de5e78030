"""Hostile and odd input gets a clear 4xx, never a 5xx, and nothing is stored that should not be."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import Running

HUBBLE = {"name": "Hubble Space Telescope", "cospar_id": "1990-037B"}
SQL_LOOKING = "Robert'); DROP TABLE spacecraft;--"


async def fleet(goofs: Running) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (
        await goofs.client.get("/api/v1/spacecraft", params={"limit": 500})
    ).json()["items"]
    return items


def assert_clear_refusal(response: httpx.Response, status: int = 422) -> None:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert detail, "a refusal says why"


async def test_invalid_names_are_refused_and_not_stored(goofs: Running) -> None:
    for name in ["x" * 10_000, "Voyager\x00 1", "Tab\there", "   ", "", "line\nbreak"]:
        response = await goofs.client.post(
            "/api/v1/spacecraft", json={"name": name, "cospar_id": "1977-084A"}
        )
        assert_clear_refusal(response)
        assert response.json()["detail"][0]["loc"] == ["body", "name"]

    assert await fleet(goofs) == []
    events = (await goofs.client.get("/api/v1/events")).json()
    assert events["items"] == []
    assert events["last_seq"] == 0


async def test_right_to_left_emoji_and_sql_looking_names_are_stored_exactly(
    goofs: Running,
) -> None:
    names = ["مسبار الأمل", "שביט 🚀 ☄️", "👩🏽‍🚀🛰️", SQL_LOOKING, "\u202eevil\u202c name"]
    for number, name in enumerate(names, start=1):
        response = await goofs.client.post(
            "/api/v1/spacecraft", json={"name": name, "cospar_id": f"2020-{number:03d}A"}
        )
        assert response.status_code == 201, response.text
        fetched = await goofs.client.get(response.headers["location"])
        assert fetched.json()["name"] == name

    assert sorted(craft["name"] for craft in await fleet(goofs)) == sorted(names)
    search = await goofs.client.get("/api/v1/spacecraft", params={"q": "DROP TABLE"})
    assert [craft["name"] for craft in search.json()["items"]] == [SQL_LOOKING]
    injection = await goofs.client.get("/api/v1/spacecraft", params={"q": "' OR '1'='1"})
    assert injection.json()["items"] == []


async def test_nul_bytes_and_odd_search_strings_are_refused_or_harmless(goofs: Running) -> None:
    await goofs.client.post("/api/v1/spacecraft", json=HUBBLE)

    assert_clear_refusal(await goofs.client.get("/api/v1/spacecraft", params={"q": "a\x00b"}))
    assert_clear_refusal(await goofs.client.get("/api/v1/spacecraft", params={"q": "q" * 10_000}))
    for query in ["%", "_", "\\", "'", '"', "🚀", "مسبار", "1990-037B'--"]:
        response = await goofs.client.get("/api/v1/spacecraft", params={"q": query})
        assert response.status_code == 200, (query, response.text)
        assert response.json()["total"] == 0, query
    # Bytes that are not UTF-8 at all (a lone surrogate, a stray continuation byte).
    for raw in ["%ED%A0%80", "%FF"]:
        response = await goofs.client.get(f"/api/v1/spacecraft?q={raw}")
        assert response.status_code < 500, (raw, response.text)


async def test_malformed_ids_are_refused(goofs: Running) -> None:
    for bad in ["not-a-uuid", "1", "' OR 1=1 --", "00000000-0000-0000-0000-00000000000g", "%00"]:
        for method, suffix in [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/repair")]:
            kwargs: dict[str, Any] = {"json": {"name": "x"}} if method == "PATCH" else {}
            response = await goofs.client.request(
                method, f"/api/v1/spacecraft/{bad}{suffix}", **kwargs
            )
            assert response.status_code in (404, 422), (method, bad, response.text)
            assert response.json()["detail"]
    bad_filter = await goofs.client.get("/api/v1/events", params={"spacecraft_id": "nope"})
    assert_clear_refusal(bad_filter)


async def test_out_of_range_paging_and_cursors_are_refused(goofs: Running) -> None:
    for path, params in [
        ("/api/v1/spacecraft", {"limit": 10**9}),
        ("/api/v1/spacecraft", {"limit": 0}),
        ("/api/v1/spacecraft", {"limit": -1}),
        ("/api/v1/spacecraft", {"offset": -5}),
        ("/api/v1/spacecraft", {"offset": 10**30}),
        ("/api/v1/spacecraft", {"limit": "lots"}),
        ("/api/v1/events", {"limit": 10**9}),
        ("/api/v1/events", {"after": -1}),
        ("/api/v1/events", {"after": 2**64}),
        ("/api/v1/events", {"after": "yesterday"}),
        ("/api/v1/events", {"type": "spacecraft.exploded"}),
        ("/api/v1/events/stream", {"after": -1}),
    ]:
        assert_clear_refusal(await goofs.client.get(path, params=params))


async def test_a_last_event_id_that_is_not_a_seq_is_a_clear_400(goofs: Running) -> None:
    for value in ["abc", "-1", "1.5", "0x10", "9" * 30]:
        headers = {"Last-Event-ID": value}
        async with goofs.client.stream("GET", "/api/v1/events/stream", headers=headers) as got:
            assert got.status_code == 400, value
            assert "Last-Event-ID" in (await got.aread()).decode()


async def test_malformed_bodies_are_refused(goofs: Running) -> None:
    craft = (await goofs.client.post("/api/v1/spacecraft", json=HUBBLE)).json()
    path = f"/api/v1/spacecraft/{craft['id']}"
    json_type = {"Content-Type": "application/json"}
    for method, url, body in [
        ("POST", "/api/v1/spacecraft", b"{not json"),
        ("POST", "/api/v1/spacecraft", b"[]"),
        ("POST", "/api/v1/spacecraft", b'{"name": 5, "cospar_id": []}'),
        ("POST", "/api/v1/spacecraft", b'{"name": "A", "cospar_id": "1990-037B", "id": 1}'),
        ("POST", "/api/v1/spacecraft", b'{"name": "A", "cospar_id": "1899-001A"}'),
        ("POST", "/api/v1/spacecraft", b'{"name": "A", "cospar_id": "1990-037B", "status": 1}'),
        ("POST", "/api/v1/spacecraft", b'{"name": "\\ud800", "cospar_id": "1990-037B"}'),
        ("POST", "/api/v1/spacecraft", b'{"name": "\xff\xfe", "cospar_id": "1990-037B"}'),
        ("PATCH", path, b'{"version": 99999999999999999999999999}'),
        ("PATCH", path, b'{"version": -1}'),
        ("POST", f"{path}/malfunction", b'{"subsystem": "warp core"}'),
        ("POST", f"{path}/malfunction", b'{"description": "' + b"z" * 600 + b'"}'),
    ]:
        response = await goofs.client.request(method, url, content=body, headers=json_type)
        assert 400 <= response.status_code < 500, (method, body, response.text)
        assert response.json()["detail"]

    unchanged = (await goofs.client.get(path)).json()
    assert unchanged == craft
    assert len(await fleet(goofs)) == 1
    assert (await goofs.client.get("/api/v1/events")).json()["last_seq"] == 1
