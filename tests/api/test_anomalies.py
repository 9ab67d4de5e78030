"""The life of a malfunction: opened with it, worked by operators, resolved with the repair."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from galactic_goofs.anomalies import service
from galactic_goofs.anomalies.models import Anomaly, AnomalyState
from galactic_goofs.auth.models import Operator
from galactic_goofs.db import utcnow
from tests.api.test_auth import signed_in_browser
from tests.support import LOOPBACK_SSL, Running, operator_token

COUNTER = iter(range(1, 1000))


async def _broken(goofs: Running, **fault: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new spacecraft, malfunctioning; returns it and its open anomaly."""
    number = next(COUNTER)
    created = await goofs.client.post(
        "/api/v1/spacecraft", json={"name": f"Probe {number}", "cospar_id": f"2012-{number:03d}A"}
    )
    assert created.status_code == 201, created.text
    craft_id = created.json()["id"]
    broken = await goofs.client.post(f"/api/v1/spacecraft/{craft_id}/malfunction", json=fault)
    assert broken.status_code == 200, broken.text
    craft = broken.json()
    anomaly = (await goofs.client.get(f"/api/v1/anomalies/{craft['anomaly']['id']}")).json()
    return craft, anomaly


async def _events(goofs: Running, after: int = 0, **filters: str) -> list[dict[str, Any]]:
    page = await goofs.client.get("/api/v1/events", params={"after": after, **filters})
    items: list[dict[str, Any]] = page.json()["items"]
    return items


async def _post(
    goofs: Running, anomaly: dict[str, Any], action: str, **body: Any
) -> httpx.Response:
    return await goofs.client.post(
        f"/api/v1/anomalies/{anomaly['id']}/{action}", json=body if body else None
    )


async def test_a_malfunction_opens_an_anomaly_and_its_repair_resolves_it(goofs: Running) -> None:
    craft, anomaly = await _broken(goofs, subsystem="comms", severity="major", description="Mute")

    assert anomaly["state"] == "open"
    assert anomaly["spacecraft_id"] == craft["id"]
    assert (anomaly["subsystem"], anomaly["severity"], anomaly["description"]) == (
        "comms",
        "major",
        "Mute",
    )
    assert anomaly["opened_by"] == "operator" and anomaly["planned"] is False
    assert anomaly["notes"] == [] and anomaly["acknowledged_at"] is None
    assert craft["anomaly"] == {"id": anomaly["id"], "state": "open", "acknowledged_by": None}

    repaired = await goofs.client.post(
        f"/api/v1/spacecraft/{craft['id']}/repair", json={"resolution": "Sang to it"}
    )
    assert repaired.status_code == 200, repaired.text
    assert repaired.json()["anomaly"] is None
    resolved = (await goofs.client.get(f"/api/v1/anomalies/{anomaly['id']}")).json()
    assert resolved["state"] == "resolved"
    assert resolved["resolved_by"] == "operator" and resolved["resolution"] == "Sang to it"

    events = await _events(goofs, spacecraft_id=craft["id"])
    by_type = {event["type"]: event for event in events}
    assert by_type["spacecraft.malfunctioned"]["data"]["anomaly_id"] == anomaly["id"]
    assert by_type["spacecraft.repaired"]["data"]["anomaly_id"] == anomaly["id"]


async def test_a_repair_without_a_body_still_resolves_the_anomaly(goofs: Running) -> None:
    craft, anomaly = await _broken(goofs)
    assert (await goofs.client.post(f"/api/v1/spacecraft/{craft['id']}/repair")).status_code == 200
    resolved = (await goofs.client.get(f"/api/v1/anomalies/{anomaly['id']}")).json()
    assert resolved["state"] == "resolved" and resolved["resolution"] is None


async def test_registering_a_malfunctioning_spacecraft_opens_its_anomaly(goofs: Running) -> None:
    created = await goofs.client.post(
        "/api/v1/spacecraft",
        json={"name": "Born Broken", "cospar_id": "2013-001A", "status": "MALFUNCTIONING"},
    )
    craft = created.json()
    assert craft["anomaly"]["state"] == "open"
    listed = await goofs.client.get("/api/v1/anomalies", params={"spacecraft_id": craft["id"]})
    assert [item["id"] for item in listed.json()["items"]] == [craft["anomaly"]["id"]]


async def test_an_anomaly_is_acknowledged_once_and_the_board_shows_by_whom(
    goofs: Running,
) -> None:
    craft, anomaly = await _broken(goofs)

    first = await _post(goofs, anomaly, "acknowledge", comment="On it")
    assert first.status_code == 200, first.text
    acknowledged = first.json()
    assert acknowledged["state"] == "acknowledged"
    assert acknowledged["acknowledged_by"] == "operator"
    assert acknowledged["acknowledge_comment"] == "On it"
    shown = (await goofs.client.get(f"/api/v1/spacecraft/{craft['id']}")).json()
    assert shown["anomaly"] == {
        "id": anomaly["id"],
        "state": "acknowledged",
        "acknowledged_by": "operator",
    }
    assert shown["status"] == "MALFUNCTIONING", "acknowledging does not repair"

    again = await _post(goofs, anomaly, "acknowledge")
    assert again.status_code == 409
    assert "already acknowledged by operator" in again.json()["detail"]


async def test_a_resolved_anomaly_refuses_every_transition_but_notes(goofs: Running) -> None:
    craft, anomaly = await _broken(goofs)
    await goofs.client.post(f"/api/v1/spacecraft/{craft['id']}/repair")

    for action, body in (
        ("acknowledge", {}),
        ("assign", {"assignee": "operator"}),
        ("shelve", {"minutes": 5, "reason": "later"}),
        ("unshelve", {}),
    ):
        response = await _post(goofs, anomaly, action, **body)
        assert response.status_code == 409, (action, response.text)
        assert "was resolved by operator" in response.json()["detail"], action
    note = await _post(goofs, anomaly, "notes", text="Root cause: a loose cable")
    assert note.status_code == 201


async def test_an_anomaly_is_assigned_to_an_operator_or_to_nobody(goofs: Running) -> None:
    _, anomaly = await _broken(goofs)
    await operator_token(goofs.state, "ada")

    assigned = await _post(goofs, anomaly, "assign", assignee="ada")
    assert assigned.status_code == 200 and assigned.json()["assignee"] == "ada"
    listed = await goofs.client.get("/api/v1/anomalies", params={"assignee": "ada"})
    assert [item["id"] for item in listed.json()["items"]] == [anomaly["id"]]

    unknown = await _post(goofs, anomaly, "assign", assignee="nobody-by-this-name")
    assert unknown.status_code == 422
    assert "no operator called 'nobody-by-this-name'" in unknown.json()["detail"]
    await operator_token(goofs.state, "grace")
    await goofs.state.db.write(
        Session.execute, update(Operator).where(Operator.name == "grace").values(enabled=False)
    )
    disabled = await _post(goofs, anomaly, "assign", assignee="grace")
    assert disabled.status_code == 422
    assert "operator 'grace' is disabled" in disabled.json()["detail"]

    cleared = await _post(goofs, anomaly, "assign", assignee=None)
    assert cleared.status_code == 200 and cleared.json()["assignee"] is None
    events = await _events(goofs, type="anomaly.assigned")
    assert [event["data"]["anomaly"]["assignee"] for event in events] == ["ada", None]
    assert all(event["spacecraft_id"] == anomaly["spacecraft_id"] for event in events)


async def test_notes_are_appended_in_order_and_kept_as_typed(goofs: Running) -> None:
    _, anomaly = await _broken(goofs)
    texts = ["First look: it is sulking", "<script>alert('hi')</script> line two"]
    for text in texts:
        response = await _post(goofs, anomaly, "notes", text=text)
        assert response.status_code == 201, response.text
        assert response.json()["author"] == "operator"
        assert response.headers["location"] == f"/api/v1/anomalies/{anomaly['id']}"
    detail = (await goofs.client.get(f"/api/v1/anomalies/{anomaly['id']}")).json()
    assert [note["text"] for note in detail["notes"]] == texts


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("x" * 4001, "at most 4000 characters"),
        ("", "at least 1 character"),
        ("bell\x07", "control characters"),
    ],
    ids=["too long", "empty", "control characters"],
)
async def test_a_note_that_cannot_be_kept_is_refused_with_the_reason(
    goofs_sqlite: Running, text: str, says: str
) -> None:
    _, anomaly = await _broken(goofs_sqlite)
    response = await _post(goofs_sqlite, anomaly, "notes", text=text)
    assert response.status_code == 422
    assert says in response.text


async def test_shelving_sets_a_time_and_reason_and_unshelving_returns_to_where_it_was(
    goofs: Running,
) -> None:
    _, anomaly = await _broken(goofs)
    await _post(goofs, anomaly, "acknowledge")

    shelved = await _post(goofs, anomaly, "shelve", minutes=90, reason="Known, harmless")
    assert shelved.status_code == 200, shelved.text
    body = shelved.json()
    assert body["state"] == "shelved" and body["shelve_reason"] == "Known, harmless"
    assert body["shelved_until"] is not None

    back = await _post(goofs, anomaly, "unshelve")
    assert back.status_code == 200
    assert back.json()["state"] == "acknowledged" and back.json()["shelved_until"] is None

    again = await _post(goofs, anomaly, "unshelve")
    assert again.status_code == 409 and "not shelved" in again.json()["detail"]
    types = [event["type"] for event in await _events(goofs) if event["type"].startswith("anom")]
    assert types == ["anomaly.acknowledged", "anomaly.shelved", "anomaly.unshelved"]


@pytest.mark.parametrize("minutes", [0, 10081, 20000, -5])
async def test_shelving_for_out_of_range_minutes_is_refused(
    goofs_sqlite: Running, minutes: int
) -> None:
    _, anomaly = await _broken(goofs_sqlite)
    response = await _post(goofs_sqlite, anomaly, "shelve", minutes=minutes, reason="because")
    assert response.status_code == 422
    assert "minutes" in response.text


async def test_a_shelf_that_runs_out_unshelves_itself(goofs_sqlite: Running) -> None:
    _, anomaly = await _broken(goofs_sqlite)
    await _post(goofs_sqlite, anomaly, "shelve", minutes=1, reason="brief")

    def run_out(session: Session) -> None:
        row = session.get(Anomaly, uuid.UUID(anomaly["id"]))
        assert row is not None and row.state == AnomalyState.SHELVED
        row.shelved_until = utcnow()

    await goofs_sqlite.state.db.write(run_out)
    change = await goofs_sqlite.state.writes.apply(service.unshelve_due, actor="clock")
    assert change is not None and change.anomaly.state == "open"
    assert change.event.data["expired"] is True
    assert await goofs_sqlite.state.writes.apply(service.unshelve_due, actor="clock") is None


async def test_unknown_anomalies_are_not_found(goofs: Running) -> None:
    missing = {"id": str(uuid.uuid4())}
    assert (await goofs.client.get(f"/api/v1/anomalies/{missing['id']}")).status_code == 404
    for action, body in (
        ("acknowledge", {}),
        ("assign", {"assignee": None}),
        ("notes", {"text": "hello?"}),
        ("shelve", {"minutes": 5, "reason": "later"}),
        ("unshelve", {}),
    ):
        response = await _post(goofs, missing, action, **body)
        assert response.status_code == 404, (action, response.text)
        assert "no anomaly with id" in response.json()["detail"]


def _anomaly_writes(anomaly_id: str) -> list[tuple[str, dict[str, Any] | None]]:
    path = f"/api/v1/anomalies/{anomaly_id}"
    return [
        (f"{path}/acknowledge", None),
        (f"{path}/assign", {"assignee": None}),
        (f"{path}/notes", {"text": "hi"}),
        (f"{path}/shelve", {"minutes": 5, "reason": "later"}),
        (f"{path}/unshelve", None),
    ]


async def test_only_operators_work_anomalies(goofs_sqlite: Running) -> None:
    goofs = goofs_sqlite
    craft, anomaly = await _broken(goofs)
    maintenance = f"/api/v1/spacecraft/{craft['id']}/maintenance"
    async with httpx.AsyncClient(base_url=goofs.url, verify=LOOPBACK_SSL) as anonymous:
        for path, body in _anomaly_writes(anomaly["id"]):
            response = await anonymous.post(path, json=body)
            assert response.status_code == 401, path
        put = await anonymous.put(
            maintenance, json={"ends_at": "2999-01-01T00:00:00Z", "reason": "x"}
        )
        assert put.status_code == 401
        assert (await anonymous.delete(maintenance)).status_code == 401
    async with signed_in_browser(goofs, "casey") as browser:
        for path, body in _anomaly_writes(anomaly["id"]):
            response = await browser.post(path, json=body)
            assert response.status_code == 403, path
    assert (await _events(goofs, type="anomaly.acknowledged")) == []


async def test_anomalies_are_listed_newest_first_with_filters_and_pages(goofs: Running) -> None:
    opened = []
    for severity in ("minor", "critical", "minor"):
        _, anomaly = await _broken(goofs, severity=severity)
        opened.append(anomaly["id"])
    await _post(goofs, {"id": opened[0]}, "acknowledge")

    everything = (await goofs.client.get("/api/v1/anomalies")).json()
    assert [item["id"] for item in everything["items"]] == opened[::-1]
    assert (everything["total"], everything["limit"], everything["offset"]) == (3, 50, 0)
    page = (await goofs.client.get("/api/v1/anomalies", params={"limit": 1, "offset": 1})).json()
    assert [item["id"] for item in page["items"]] == [opened[1]] and page["total"] == 3
    minor = (await goofs.client.get("/api/v1/anomalies", params={"severity": "minor"})).json()
    assert [item["id"] for item in minor["items"]] == [opened[2], opened[0]]
    open_ = (await goofs.client.get("/api/v1/anomalies", params={"state": "open"})).json()
    assert [item["id"] for item in open_["items"]] == [opened[2], opened[1]]
    bad = await goofs.client.get("/api/v1/anomalies", params={"state": "sulking"})
    assert bad.status_code == 422


async def test_deleting_a_spacecraft_resolves_its_anomaly_and_keeps_the_history(
    goofs: Running,
) -> None:
    craft, anomaly = await _broken(goofs)
    await _post(goofs, anomaly, "notes", text="Looking into it")
    assert (await goofs.client.delete(f"/api/v1/spacecraft/{craft['id']}")).status_code == 204

    kept = (await goofs.client.get(f"/api/v1/anomalies/{anomaly['id']}")).json()
    assert kept["state"] == "resolved" and kept["resolved_by"] == "operator"
    assert [note["text"] for note in kept["notes"]] == ["Looking into it"]
    deleted = await _events(goofs, type="spacecraft.deleted")
    assert deleted[0]["data"]["anomaly_id"] == anomaly["id"]


async def test_twenty_operators_acknowledging_at_once_make_one_acknowledgement(
    goofs: Running,
) -> None:
    _, anomaly = await _broken(goofs)
    tokens = [await operator_token(goofs.state, f"op{number}") for number in range(20)]
    before = (await goofs.client.get("/api/v1/events")).json()["last_seq"]

    async def acknowledge(token: str) -> int:
        response = await goofs.client.post(
            f"/api/v1/anomalies/{anomaly['id']}/acknowledge",
            headers={"Authorization": f"Bearer {token}"},
        )
        return response.status_code

    statuses = await asyncio.gather(*(acknowledge(token) for token in tokens))
    assert sorted(statuses) == [200] + [409] * 19
    events = await _events(goofs, after=before)
    assert [event["type"] for event in events] == ["anomaly.acknowledged"]
    winner = (await goofs.client.get(f"/api/v1/anomalies/{anomaly['id']}")).json()
    assert winner["acknowledged_by"] == events[0]["actor"]


async def test_concurrent_malfunctions_of_one_spacecraft_open_one_anomaly(goofs: Running) -> None:
    created = await goofs.client.post(
        "/api/v1/spacecraft", json={"name": "Fragile", "cospar_id": "2014-001A"}
    )
    craft_id = created.json()["id"]
    responses = await asyncio.gather(
        *(goofs.client.post(f"/api/v1/spacecraft/{craft_id}/malfunction") for _ in range(10))
    )
    assert sorted(response.status_code for response in responses) == [200] + [409] * 9
    listed = await goofs.client.get("/api/v1/anomalies", params={"spacecraft_id": craft_id})
    assert listed.json()["total"] == 1


async def test_the_database_refuses_a_second_open_anomaly_for_a_spacecraft(
    goofs: Running,
) -> None:
    craft, _ = await _broken(goofs)

    def open_another(session: Session) -> None:
        session.execute(
            insert(Anomaly).values(
                id=uuid.uuid4(),
                spacecraft_id=uuid.UUID(craft["id"]),
                subsystem="power",
                severity="minor",
                description="A twin",
                state="open",
                planned=False,
                opened_at=utcnow(),
                opened_by="sneaky",
            )
        )

    with pytest.raises(IntegrityError):
        await goofs.state.db.write(open_another)
