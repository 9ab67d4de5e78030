"""The JSON API's contract, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

from tests.support import Running

HUBBLE = {"name": "Hubble Space Telescope", "cospar_id": "1990-037B"}


async def create(goofs: Running, name: str, cospar_id: str, **extra: str) -> dict[str, object]:
    response = await goofs.client.post(
        "/api/v1/spacecraft", json={"name": name, "cospar_id": cospar_id, **extra}
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_creating_a_spacecraft_returns_it_with_its_location(goofs: Running) -> None:
    response = await goofs.client.post("/api/v1/spacecraft", json=HUBBLE)

    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Hubble Space Telescope"
    assert body["cospar_id"] == "1990-037B"
    assert body["status"] == "NOMINAL"
    assert body["fault"] is None
    assert body["version"] == 1
    assert response.headers["location"] == f"/api/v1/spacecraft/{body['id']}"
    fetched = await goofs.client.get(response.headers["location"])
    assert fetched.json() == body


async def test_creating_a_malfunctioning_spacecraft_gives_it_a_fault(goofs: Running) -> None:
    body = await create(goofs, "Genesis", "2001-034A", status="MALFUNCTIONING")

    assert body["status"] == "MALFUNCTIONING"
    assert isinstance(body["fault"], dict)
    assert body["fault"]["subsystem"]


async def test_a_duplicate_cospar_id_is_a_conflict(goofs: Running) -> None:
    await create(goofs, **HUBBLE)

    response = await goofs.client.post(
        "/api/v1/spacecraft", json={"name": "Impostor", "cospar_id": "1990-037b"}
    )

    assert response.status_code == 409
    assert "already registered to Hubble Space Telescope" in response.json()["detail"]


async def test_unknown_ids_are_not_found(goofs: Running) -> None:
    missing = uuid.uuid4()
    for method, path in [
        ("GET", f"/api/v1/spacecraft/{missing}"),
        ("PATCH", f"/api/v1/spacecraft/{missing}"),
        ("DELETE", f"/api/v1/spacecraft/{missing}"),
        ("POST", f"/api/v1/spacecraft/{missing}/repair"),
        ("POST", f"/api/v1/spacecraft/{missing}/malfunction"),
    ]:
        kwargs = {"json": {"name": "x"}} if method == "PATCH" else {}
        response = await goofs.client.request(method, path, **kwargs)
        assert response.status_code == 404, (method, path, response.text)
        assert str(missing) in response.json()["detail"]


async def test_malfunction_then_repair_round_trip(goofs: Running) -> None:
    craft = await create(goofs, **HUBBLE)
    path = f"/api/v1/spacecraft/{craft['id']}"

    broken = await goofs.client.post(
        f"{path}/malfunction", json={"subsystem": "comms", "description": "Antenna sulking"}
    )
    assert broken.status_code == 200
    assert broken.json()["status"] == "MALFUNCTIONING"
    assert broken.json()["fault"]["subsystem"] == "comms"
    assert broken.json()["fault"]["description"] == "Antenna sulking"
    assert broken.json()["version"] == 2

    again = await goofs.client.post(f"{path}/malfunction")
    assert again.status_code == 409
    assert "already malfunctioning" in again.json()["detail"]

    fixed = await goofs.client.post(f"{path}/repair")
    assert fixed.status_code == 200
    assert fixed.json()["status"] == "NOMINAL"
    assert fixed.json()["fault"] is None

    assert (await goofs.client.post(f"{path}/repair")).status_code == 409


async def test_repairing_a_nominal_spacecraft_is_a_conflict(goofs: Running) -> None:
    craft = await create(goofs, **HUBBLE)

    response = await goofs.client.post(f"/api/v1/spacecraft/{craft['id']}/repair")

    assert response.status_code == 409
    assert "nothing to repair" in response.json()["detail"]


async def test_editing_with_a_stale_version_is_a_conflict(goofs: Running) -> None:
    craft = await create(goofs, **HUBBLE)
    path = f"/api/v1/spacecraft/{craft['id']}"

    first = await goofs.client.patch(path, json={"name": "Hubble", "version": 1})
    assert first.status_code == 200
    assert first.json()["name"] == "Hubble"
    assert first.json()["version"] == 2

    stale = await goofs.client.patch(path, json={"name": "Hubble II", "version": 1})
    assert stale.status_code == 409
    assert "version" in stale.json()["detail"]
    assert (await goofs.client.get(path)).json()["name"] == "Hubble"


async def test_editing_to_a_taken_cospar_id_is_a_conflict(goofs: Running) -> None:
    await create(goofs, **HUBBLE)
    other = await create(goofs, "Chandra", "1999-040B")

    response = await goofs.client.patch(
        f"/api/v1/spacecraft/{other['id']}", json={"cospar_id": "1990-037B"}
    )

    assert response.status_code == 409


async def test_deleting_removes_the_spacecraft(goofs: Running) -> None:
    craft = await create(goofs, **HUBBLE)
    path = f"/api/v1/spacecraft/{craft['id']}"

    assert (await goofs.client.delete(path)).status_code == 204
    assert (await goofs.client.get(path)).status_code == 404
    assert (await goofs.client.delete(path)).status_code == 404


async def test_listing_filters_searches_and_paginates(goofs: Running) -> None:
    for number in range(1, 8):
        await create(goofs, f"Starlink-{number}", f"2019-029{'ABCDEFG'[number - 1]}")
    await create(goofs, "Hubble", "1990-037B", status="MALFUNCTIONING")

    everything = (await goofs.client.get("/api/v1/spacecraft")).json()
    assert everything["total"] == 8
    assert everything["items"][0]["name"] == "Hubble"

    broken = await goofs.client.get("/api/v1/spacecraft", params={"status": "MALFUNCTIONING"})
    assert [item["name"] for item in broken.json()["items"]] == ["Hubble"]

    by_cospar = await goofs.client.get("/api/v1/spacecraft", params={"q": "2019-029c"})
    assert [item["name"] for item in by_cospar.json()["items"]] == ["Starlink-3"]

    by_name = await goofs.client.get("/api/v1/spacecraft", params={"q": "starlink"})
    assert by_name.json()["total"] == 7

    page = (await goofs.client.get("/api/v1/spacecraft", params={"limit": 3, "offset": 3})).json()
    assert [item["name"] for item in page["items"]] == ["Starlink-3", "Starlink-4", "Starlink-5"]
    assert page["total"] == 8


async def test_search_treats_like_wildcards_literally(goofs: Running) -> None:
    await create(goofs, "100% Uptime", "2020-001A")
    await create(goofs, "Ordinary", "2020-002A")

    response = await goofs.client.get("/api/v1/spacecraft", params={"q": "%"})

    assert [item["name"] for item in response.json()["items"]] == ["100% Uptime"]


async def test_search_finds_names_beyond_ascii_as_typed(goofs: Running) -> None:
    await create(goofs, "Ørsted", "1999-008B")
    await create(goofs, "Ordinary", "2020-002A")

    response = await goofs.client.get("/api/v1/spacecraft", params={"q": "Ørst"})

    assert [item["name"] for item in response.json()["items"]] == ["Ørsted"]


async def test_every_change_is_an_event_in_order(goofs: Running) -> None:
    craft = await create(goofs, **HUBBLE)
    path = f"/api/v1/spacecraft/{craft['id']}"
    await goofs.client.post(f"{path}/malfunction")
    await goofs.client.post(f"{path}/repair")
    await goofs.client.patch(path, json={"name": "Hubble"})
    await goofs.client.delete(path)

    page = (await goofs.client.get("/api/v1/events", params={"after": 0})).json()

    assert [event["type"] for event in page["items"]] == [
        "spacecraft.created",
        "spacecraft.malfunctioned",
        "spacecraft.repaired",
        "spacecraft.updated",
        "spacecraft.deleted",
    ]
    assert [event["seq"] for event in page["items"]] == [1, 2, 3, 4, 5]
    assert page["last_seq"] == 5
    assert {event["actor"] for event in page["items"]} == {"operator"}
    assert page["items"][2]["data"]["fault"]["subsystem"]
    assert page["items"][3]["data"]["changes"] == {"name": ["Hubble Space Telescope", "Hubble"]}
    assert page["items"][4]["data"]["spacecraft"]["id"] == craft["id"]

    later = (await goofs.client.get("/api/v1/events", params={"after": 3, "limit": 1})).json()
    assert [event["seq"] for event in later["items"]] == [4]
    repairs = await goofs.client.get("/api/v1/events", params={"type": "spacecraft.repaired"})
    assert [event["seq"] for event in repairs.json()["items"]] == [3]
    for_craft = await goofs.client.get("/api/v1/events", params={"spacecraft_id": craft["id"]})
    assert len(for_craft.json()["items"]) == 5


async def test_health_and_readiness(goofs: Running) -> None:
    assert (await goofs.client.get("/healthz")).json() == {"status": "ok"}
    ready = await goofs.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "broker": True}


async def test_openapi_documents_the_api(goofs_sqlite: Running) -> None:
    spec = (await goofs_sqlite.client.get("/openapi.json")).json()
    assert "/api/v1/spacecraft/{spacecraft_id}/repair" in spec["paths"]
    assert "/api/v1/events/stream" in spec["paths"]
    assert (await goofs_sqlite.client.get("/docs")).status_code == 200
