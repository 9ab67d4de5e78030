"""Every validation rule of the Domain section, each with a bad input and the status it gets."""

from __future__ import annotations

import uuid

import pytest

from tests.support import Running

VALID = {"name": "Hubble", "cospar_id": "1990-037B"}


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"cospar_id": "1990-037B"}, "name", "Field required"),
        ({"name": "", "cospar_id": "1990-037B"}, "name", "at least 1 character"),
        ({"name": "   ", "cospar_id": "1990-037B"}, "name", "at least 1 character"),
        ({"name": "x" * 51, "cospar_id": "1990-037B"}, "name", "at most 50 characters"),
        ({"name": "Hub\nble", "cospar_id": "1990-037B"}, "name", "control characters"),
        ({"name": "Hub\x00ble", "cospar_id": "1990-037B"}, "name", "control characters"),
        ({"name": "Hub\tble", "cospar_id": "1990-037B"}, "name", "control characters"),
        ({"name": 42, "cospar_id": "1990-037B"}, "name", "valid string"),
        ({"name": "Hubble"}, "cospar_id", "Field required"),
        ({"name": "Hubble", "cospar_id": "1956-001A"}, "cospar_id", "1957 or later"),
        ({"name": "Hubble", "cospar_id": "1990-000A"}, "cospar_id", "between 001 and 999"),
        ({"name": "Hubble", "cospar_id": "1990-37B"}, "cospar_id", "must look like"),
        ({"name": "Hubble", "cospar_id": "1990-037"}, "cospar_id", "must look like"),
        ({"name": "Hubble", "cospar_id": "1990-037ABCD"}, "cospar_id", "must look like"),
        ({"name": "Hubble", "cospar_id": "1990-037I"}, "cospar_id", "without I and O"),
        ({"name": "Hubble", "cospar_id": "1990-037O"}, "cospar_id", "without I and O"),
        ({"name": "Hubble", "cospar_id": "1990-0371"}, "cospar_id", "must look like"),
        ({"name": "Hubble", "cospar_id": "90-037B"}, "cospar_id", "must look like"),
        ({"name": "Hubble", "cospar_id": "1990_037B"}, "cospar_id", "must look like"),
        ({**VALID, "status": "BROKEN"}, "status", "NOMINAL"),
        ({**VALID, "colour": "red"}, "colour", "Extra inputs"),
    ],
)
async def test_a_bad_spacecraft_is_refused_with_a_message_for_its_field(
    goofs_sqlite: Running, payload: dict[str, object], field: str, message: str
) -> None:
    response = await goofs_sqlite.client.post("/api/v1/spacecraft", json=payload)

    assert response.status_code == 422
    errors = response.json()["detail"]
    assert any(e["loc"][-1] == field and message in e["msg"] for e in errors), errors
    listing = await goofs_sqlite.client.get("/api/v1/spacecraft")
    assert listing.json()["total"] == 0


@pytest.mark.parametrize(
    ("cospar_id", "stored"),
    [
        ("1957-001B", "1957-001B"),
        ("1998-067a", "1998-067A"),
        (" 2024-999ZZZ ", "2024-999ZZZ"),
        ("2030-123HJK", "2030-123HJK"),
    ],
)
async def test_valid_cospar_ids_are_accepted_and_normalised(
    goofs_sqlite: Running, cospar_id: str, stored: str
) -> None:
    response = await goofs_sqlite.client.post(
        "/api/v1/spacecraft", json={"name": "  Padded name  ", "cospar_id": cospar_id}
    )

    assert response.status_code == 201, response.text
    assert response.json()["cospar_id"] == stored
    assert response.json()["name"] == "Padded name"


async def test_names_may_hold_any_script_and_emoji(goofs_sqlite: Running) -> None:
    name = "\u05d7\u05dc\u05dc\u05d9\u05ea \U0001f6f0\ufe0f \U0001f468\u200d\U0001f680"
    response = await goofs_sqlite.client.post(
        "/api/v1/spacecraft", json={"name": name, "cospar_id": "2020-001A"}
    )

    assert response.status_code == 201
    assert response.json()["name"] == name


async def test_malformed_json_is_unprocessable(goofs_sqlite: Running) -> None:
    response = await goofs_sqlite.client.post(
        "/api/v1/spacecraft",
        content=b'{"name": "Hubble",',
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


async def test_a_malformed_id_is_unprocessable(goofs_sqlite: Running) -> None:
    response = await goofs_sqlite.client.get("/api/v1/spacecraft/not-a-uuid")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "spacecraft_id"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": ""}, "name"),
        ({"cospar_id": "1990-037I"}, "cospar_id"),
        ({"version": 0}, "version"),
        ({"version": "one"}, "version"),
        ({"status": "NOMINAL"}, "status"),
    ],
)
async def test_a_bad_edit_is_refused(
    goofs_sqlite: Running, payload: dict[str, object], field: str
) -> None:
    created = await goofs_sqlite.client.post("/api/v1/spacecraft", json=VALID)

    response = await goofs_sqlite.client.patch(
        f"/api/v1/spacecraft/{created.json()['id']}", json=payload
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == field
    unchanged = await goofs_sqlite.client.get(f"/api/v1/spacecraft/{created.json()['id']}")
    assert unchanged.json() == created.json()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"subsystem": "warp-drive"}, "subsystem"),
        ({"severity": "apocalyptic"}, "severity"),
        ({"description": ""}, "description"),
        ({"description": "x" * 501}, "description"),
    ],
)
async def test_a_bad_manual_malfunction_is_refused(
    goofs_sqlite: Running, payload: dict[str, object], field: str
) -> None:
    created = await goofs_sqlite.client.post("/api/v1/spacecraft", json=VALID)

    response = await goofs_sqlite.client.post(
        f"/api/v1/spacecraft/{created.json()['id']}/malfunction", json=payload
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == field


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 501}, "limit"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"status": "SIDEWAYS"}, "status"),
        ({"q": "x" * 101}, "q"),
    ],
)
async def test_bad_list_parameters_are_refused(
    goofs_sqlite: Running, params: dict[str, object], field: str
) -> None:
    response = await goofs_sqlite.client.get("/api/v1/spacecraft", params=params)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", field]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"after": -1}, "after"),
        ({"after": "ten"}, "after"),
        ({"limit": 501}, "limit"),
        ({"type": "spacecraft.exploded"}, "type"),
        ({"spacecraft_id": "nope"}, "spacecraft_id"),
    ],
)
async def test_bad_event_queries_are_refused(
    goofs_sqlite: Running, params: dict[str, object], field: str
) -> None:
    response = await goofs_sqlite.client.get("/api/v1/events", params=params)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["query", field]


async def test_a_page_of_500_is_the_largest(goofs_sqlite: Running) -> None:
    response = await goofs_sqlite.client.get("/api/v1/spacecraft", params={"limit": 500})

    assert response.status_code == 200
    assert response.json()["limit"] == 500


async def test_unknown_routes_and_ids_are_not_found(goofs_sqlite: Running) -> None:
    assert (await goofs_sqlite.client.get("/api/v1/nothing-here")).status_code == 404
    missing = await goofs_sqlite.client.get(f"/api/v1/spacecraft/{uuid.uuid4()}")
    assert missing.status_code == 404


async def test_a_description_with_a_control_character_is_refused_naming_the_description(
    goofs_sqlite: Running,
) -> None:
    created = await goofs_sqlite.client.post("/api/v1/spacecraft", json=VALID)

    response = await goofs_sqlite.client.post(
        f"/api/v1/spacecraft/{created.json()['id']}/malfunction",
        json={"description": "Sulking\x07"},
    )

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "description"]
    assert "description must not contain control characters" in error["msg"]


async def test_the_schema_shows_that_names_and_descriptions_refuse_control_characters(
    goofs_sqlite: Running,
) -> None:
    schemas = (await goofs_sqlite.client.get("/openapi.json")).json()["components"]["schemas"]

    name = schemas["SpacecraftCreate"]["properties"]["name"]
    description = schemas["MalfunctionRequest"]["properties"]["description"]["anyOf"][0]
    for text in (name, description):
        assert text["pattern"].startswith("^[^\\x00-\\x1f\\x7f-\\x9f]*"), text


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/api/v1/spacecraft", "GET, HEAD, POST"),
        ("PUT", "/api/v1/spacecraft", "GET, HEAD, POST"),
        ("OPTIONS", "/api/v1/spacecraft/{id}", "DELETE, GET, HEAD, PATCH"),
        ("POST", "/api/v1/spacecraft/{id}", "DELETE, GET, HEAD, PATCH"),
        ("GET", "/api/v1/spacecraft/{id}/repair", "POST"),
        ("PATCH", "/api/v1/spacecraft/summary", "GET, HEAD"),
        ("DELETE", "/api/v1/spacecraft/summary", "GET, HEAD"),
        ("OPTIONS", "/api/v1/spacecraft/summary", "GET, HEAD"),
        ("POST", "/api/v1/events", "GET, HEAD"),
    ],
)
async def test_a_method_a_path_lacks_is_405_listing_every_method_it_has(
    goofs_sqlite: Running, method: str, path: str, allow: str
) -> None:
    path = path.replace("{id}", str(uuid.uuid4()))

    response = await goofs_sqlite.client.request(method, path)

    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow


async def test_a_literal_path_still_serves_its_own_method_and_ids_still_route(
    goofs_sqlite: Running,
) -> None:
    assert (await goofs_sqlite.client.get("/api/v1/spacecraft/summary")).status_code == 200
    missing = await goofs_sqlite.client.patch(f"/api/v1/spacecraft/{uuid.uuid4()}", json={})
    assert missing.status_code == 404
