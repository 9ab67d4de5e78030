"""Signed webhooks: the admin API, delivery to a real receiver on loopback that verifies every
signature with the `standardwebhooks` package, retries, 410, Retry-After, redirects, timeouts,
suppression and redelivery."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest

from galactic_goofs.auth import service as auth
from galactic_goofs.auth.policy import Role
from galactic_goofs.db import utcnow
from galactic_goofs.notifications import service
from galactic_goofs.notifications.schemas import WebhookCreate
from galactic_goofs.settings import Settings
from tests.support import (
    LOOPBACK_SSL,
    Running,
    consumers_caught_up,
    running_app,
    test_settings,
    wait_until,
)
from tests.webhook_receiver import Answer, Receiver, receiver

FAST = {
    "webhook_allow_private": True,
    "webhook_retry_schedule": "50ms,50ms,50ms",
    "webhook_timeout": 1.0,
    "lease_ttl": 1.0,
}
HUBBLE = {"name": "Hubble Space Telescope", "cospar_id": "1990-037B"}


@asynccontextmanager
async def app_with_admin(settings: Settings) -> AsyncIterator[tuple[Running, httpx.AsyncClient]]:
    async with running_app(settings) as goofs:
        await auth.add_operator(goofs.state.db, "chief", "correct horse battery", role=Role.ADMIN)
        change = await goofs.state.db.write(auth.issue_token, "chief", scope=auth.Scope.ADMIN)
        async with httpx.AsyncClient(
            base_url=goofs.url,
            timeout=30,
            verify=LOOPBACK_SSL,
            headers={"Authorization": f"Bearer {change.secret}"},
        ) as admin:
            yield goofs, admin


@pytest.fixture
async def hooks(sqlite_url: str) -> AsyncIterator[tuple[Running, httpx.AsyncClient]]:
    async with app_with_admin(test_settings(sqlite_url, **FAST)) as both:
        yield both


async def register(
    admin: httpx.AsyncClient, hook: Receiver, path: str = "/hook", **fields: Any
) -> dict[str, Any]:
    response = await admin.post(
        "/api/v1/webhooks", json={"url": hook.url + path, "events": ["*"], **fields}
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    hook.secrets.append(created["secret"])
    return created


async def broken_spacecraft(goofs: Running, **fault: str) -> dict[str, Any]:
    created = await goofs.client.post("/api/v1/spacecraft", json=HUBBLE)
    assert created.status_code == 201, created.text
    craft = created.json()
    broken = await goofs.client.post(f"/api/v1/spacecraft/{craft['id']}/malfunction", json=fault)
    assert broken.status_code == 200, broken.text
    result: dict[str, Any] = broken.json()
    return result


async def deliveries(admin: httpx.AsyncClient, webhook_id: str) -> list[dict[str, Any]]:
    response = await admin.get(f"/api/v1/webhooks/{webhook_id}/deliveries")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def settled(admin: httpx.AsyncClient, webhook_id: str, count: int) -> list[dict[str, Any]]:
    """Once `count` deliveries of the webhook are no longer pending."""
    found: list[dict[str, Any]] = []

    async def done() -> bool:
        nonlocal found
        found = await deliveries(admin, webhook_id)
        return len(found) >= count and all(d["status"] != "pending" for d in found)

    await wait_until(done, message=f"{count} settled deliveries")
    return found


@pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)
async def test_a_malfunction_reaches_the_receiver_signed_with_the_event_of_the_stream(
    database_url: str,
) -> None:
    async with app_with_admin(test_settings(database_url, **FAST)) as (goofs, admin):
        with receiver() as hook:
            webhook = await register(admin, hook, events=["spacecraft.malfunctioned"])
            assert webhook["secret"].startswith("whsec_")
            craft = await broken_spacecraft(goofs)
            await wait_until(lambda: len(hook.received) == 1, message="the delivery")

            got = hook.received[0]
            assert got.body["type"] == "spacecraft.malfunctioned"
            events = await goofs.client.get("/api/v1/events", params={"type": got.body["type"]})
            assert got.body["data"] == events.json()["items"][-1]
            assert got.body["data"]["spacecraft_id"] == craft["id"]
            assert got.headers["webhook-id"].startswith("msg_")
            assert got.headers["webhook-signature"].startswith("v1,")
            assert not hook.rejected
            [delivery] = await settled(admin, webhook["id"], 1)
            assert delivery["status"] == "delivered"
            assert delivery["webhook_id"] == got.webhook_id
            assert [a["status_code"] for a in delivery["attempt_log"]] == [200]


async def test_the_secret_is_shown_once_and_reads_never_carry_it(hooks: Any) -> None:
    _goofs, admin = hooks
    with receiver() as hook:
        response = await admin.post(
            "/api/v1/webhooks",
            json={"url": hook.url, "events": ["*"], "description": "on-call pager"},
        )
    assert response.status_code == 201
    created = response.json()
    assert response.headers["location"] == f"/api/v1/webhooks/{created['id']}"
    one = (await admin.get(response.headers["location"])).json()
    listed = (await admin.get("/api/v1/webhooks")).json()
    assert "secret" not in one and all("secret" not in item for item in listed)
    assert one["description"] == "on-call pager" and one["format"] == "standard"
    audit = (await admin.get("/api/v1/audit")).text
    assert "webhook.added" in audit and created["secret"] not in audit


async def test_only_matching_types_and_severities_are_sent(hooks: Any) -> None:
    goofs, admin = hooks
    with receiver() as hook:
        critical = await register(admin, hook, "/critical", min_severity="critical")
        repairs = await register(admin, hook, "/repairs", events=["spacecraft.repaired"])
        craft = await broken_spacecraft(goofs, subsystem="power")
        severity = craft["fault"]["severity"]
        await goofs.client.post(f"/api/v1/spacecraft/{craft['id']}/repair")
        await wait_until(lambda: len(hook.on("/repairs")) == 1, message="the repair")
        sent_critical = await deliveries(admin, critical["id"])
        types = {d["event_type"] for d in sent_critical}
        assert ("spacecraft.malfunctioned" in types) == (severity == "critical")
        assert "spacecraft.repaired" in types and "spacecraft.created" in types
        assert {d["event_type"] for d in await deliveries(admin, repairs["id"])} == {
            "spacecraft.repaired"
        }


async def test_failures_are_retried_with_the_same_webhook_id_until_delivered(hooks: Any) -> None:
    _goofs, admin = hooks

    def twice_500(path: str, webhook_id: str, attempt: int) -> Answer:
        return (500 if attempt <= 2 else 200), {}, 0.0

    with receiver(twice_500) as hook:
        webhook = await register(admin, hook)
        await admin.post(f"/api/v1/webhooks/{webhook['id']}/test")
        [delivery] = await settled(admin, webhook["id"], 1)
    assert delivery["status"] == "delivered"
    assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 500, 200]
    assert [a["outcome"] for a in delivery["attempt_log"]] == ["retry", "retry", "delivered"]
    assert hook.ids() == [delivery["webhook_id"]] * 3
    assert (await admin.get(f"/api/v1/webhooks/{webhook['id']}")).json()["failures_in_a_row"] == 0


async def test_a_delivery_fails_visibly_when_the_schedule_runs_out(hooks: Any) -> None:
    _goofs, admin = hooks
    with receiver(lambda *_: (500, {}, 0.0)) as hook:
        webhook = await register(admin, hook)
        await admin.post(f"/api/v1/webhooks/{webhook['id']}/test")
        [delivery] = await settled(admin, webhook["id"], 1)
    assert delivery["status"] == "failed" and delivery["attempts"] == 4  # 1 + 3 retries
    assert delivery["last_status_code"] == 500 and "HTTP 500" in delivery["last_error"]
    assert delivery["next_attempt_at"] is None
    endpoint = (await admin.get(f"/api/v1/webhooks/{webhook['id']}")).json()
    assert endpoint["failures_in_a_row"] == 4 and endpoint["enabled"]


async def test_410_gone_disables_the_endpoint_with_the_reason_until_it_is_enabled(
    hooks: Any,
) -> None:
    goofs, admin = hooks
    with receiver(lambda *_: (410, {}, 0.0)) as hook:
        webhook = await register(admin, hook)
        await admin.post(f"/api/v1/webhooks/{webhook['id']}/test")
        [delivery] = await settled(admin, webhook["id"], 1)
        assert delivery["attempts"] == 1 and delivery["status"] == "failed"
        endpoint = (await admin.get(f"/api/v1/webhooks/{webhook['id']}")).json()
        assert not endpoint["enabled"] and "410" in endpoint["disabled_reason"]

        await broken_spacecraft(goofs)
        refused = await admin.post(
            f"/api/v1/webhooks/{webhook['id']}/deliveries/{delivery['id']}/redeliver"
        )
        assert refused.status_code == 409
        assert len(await deliveries(admin, webhook["id"])) == 1, "nothing queued while disabled"

        enabled = await admin.patch(f"/api/v1/webhooks/{webhook['id']}", json={"enabled": True})
        assert enabled.json()["enabled"] and enabled.json()["disabled_reason"] is None


async def test_429_retry_after_is_honoured_over_the_schedule(hooks: Any) -> None:
    _goofs, admin = hooks

    def busy_once(path: str, webhook_id: str, attempt: int) -> Answer:
        return (429, {"Retry-After": "1"}, 0.0) if attempt == 1 else (200, {}, 0.0)

    with receiver(busy_once) as hook:
        webhook = await register(admin, hook)
        await admin.post(f"/api/v1/webhooks/{webhook['id']}/test")
        [delivery] = await settled(admin, webhook["id"], 1)
    first, second = hook.received
    assert second.at - first.at >= 0.95, "waited as asked, not the 50 ms of the schedule"
    assert [a["status_code"] for a in delivery["attempt_log"]] == [429, 200]


async def test_a_redirect_is_a_failed_attempt_and_is_not_followed(hooks: Any) -> None:
    _goofs, admin = hooks

    def redirect(path: str, webhook_id: str, attempt: int) -> Answer:
        return (302, {"Location": "/elsewhere"}, 0.0) if path == "/hook" else (200, {}, 0.0)

    with receiver(redirect) as hook:
        webhook = await register(admin, hook)
        await admin.post(f"/api/v1/webhooks/{webhook['id']}/test")
        [delivery] = await settled(admin, webhook["id"], 1)
    assert delivery["status"] == "failed"
    assert {a["status_code"] for a in delivery["attempt_log"]} == {302}
    assert "not followed" in delivery["last_error"]
    assert hook.on("/elsewhere") == []


async def test_a_receiver_that_never_answers_costs_a_timeout_and_delays_nobody_else(
    hooks: Any,
) -> None:
    goofs, admin = hooks

    def slow(path: str, webhook_id: str, attempt: int) -> Answer:
        return 200, {}, (60.0 if path == "/slow" else 0.0)

    with receiver(slow) as hook:
        stuck = await register(admin, hook, "/slow")
        fine = await register(admin, hook, "/fine")
        await goofs.client.post("/api/v1/spacecraft", json=HUBBLE)
        await wait_until(
            lambda: hook.on("/fine") and hook.on("/slow"), message="both first attempts"
        )
        # Sent together: the fast one is answered without waiting for the slow one's timeout.
        assert hook.on("/fine")[0].at - hook.on("/slow")[0].at < 0.5
        [timed_out] = await settled(admin, stuck["id"], 1)
        assert timed_out["status"] == "failed"
        assert all(a["error"] == "no answer within 1 s" for a in timed_out["attempt_log"])
        assert all(900 <= a["latency_ms"] < 3000 for a in timed_out["attempt_log"])
        assert (await deliveries(admin, fine["id"]))[0]["status"] == "delivered"


async def test_a_dead_endpoints_queue_never_crowds_out_the_others(sqlite_url: str) -> None:
    """Five slots, of which an endpoint may hold four: with a dozen deliveries queued for a
    receiver that never answers, one queued later for a live one is sent at once, long before
    any of the dead one's attempts times out and frees a slot."""
    settings = test_settings(
        sqlite_url, **FAST | {"webhook_concurrency": 5, "webhook_timeout": 5.0}
    )

    def dead(path: str, webhook_id: str, attempt: int) -> Answer:
        return 200, {}, (60.0 if path == "/dead" else 0.0)

    with receiver(dead) as hook:
        async with app_with_admin(settings) as (goofs, admin):
            stuck = await register(admin, hook, "/dead")
            for number in range(12):
                created = await goofs.client.post(
                    "/api/v1/spacecraft",
                    json={"name": f"Probe {number}", "cospar_id": f"2026-{number + 100:03d}A"},
                )
                assert created.status_code == 201, created.text
            await wait_until(
                lambda: len(hook.on("/dead")) >= 4, message="the dead receiver holding 4 slots"
            )
            await register(admin, hook, "/live")
            await goofs.client.post("/api/v1/spacecraft", json=HUBBLE)
            await wait_until(
                lambda: len(hook.on("/live")) == 1, timeout=4.0, message="the live one at once"
            )
            assert [d["status"] for d in await deliveries(admin, stuck["id"])].count("pending") >= 9


async def test_redelivery_sends_the_same_webhook_id_again(hooks: Any) -> None:
    _goofs, admin = hooks
    with receiver() as hook:
        webhook = await register(admin, hook)
        await admin.post(f"/api/v1/webhooks/{webhook['id']}/test")
        [delivery] = await settled(admin, webhook["id"], 1)
        again = await admin.post(
            f"/api/v1/webhooks/{webhook['id']}/deliveries/{delivery['id']}/redeliver"
        )
        assert again.status_code == 202 and again.json()["status"] == "pending"
        await wait_until(lambda: len(hook.received) == 2, message="the redelivery")
    assert hook.ids() == [delivery["webhook_id"]] * 2


async def test_after_rotation_both_secrets_sign_for_the_grace_period(hooks: Any) -> None:
    _goofs, admin = hooks
    with receiver() as hook:
        webhook = await register(admin, hook)
        rotated = await admin.post(
            f"/api/v1/webhooks/{webhook['id']}/rotate-secret", json={"grace_minutes": 60}
        )
        assert rotated.status_code == 200 and rotated.json()["secret"] != webhook["secret"]
        hook.secrets.append(rotated.json()["secret"])
        await admin.post(f"/api/v1/webhooks/{webhook['id']}/test")
        await wait_until(lambda: len(hook.received) == 1, message="the ping")
        assert hook.received[0].verified_with == ["0", "1"]

        await admin.post(
            f"/api/v1/webhooks/{webhook['id']}/rotate-secret", json={"grace_minutes": 0}
        )
        await admin.post(f"/api/v1/webhooks/{webhook['id']}/test")
        await wait_until(
            lambda: len(hook.rejected) == 1, message="a ping the old keys cannot verify"
        )


async def test_shelved_anomalies_and_spacecraft_in_maintenance_do_not_notify(hooks: Any) -> None:
    goofs, admin = hooks
    with receiver() as hook:
        webhook = await register(admin, hook, events=["anomaly.noted", "spacecraft.malfunctioned"])
        craft = await broken_spacecraft(goofs)
        anomaly_id = craft["anomaly"]["id"]
        shelve = {"minutes": 60, "reason": "known"}
        assert (
            await goofs.client.post(f"/api/v1/anomalies/{anomaly_id}/shelve", json=shelve)
        ).status_code == 200
        await goofs.client.post(f"/api/v1/anomalies/{anomaly_id}/notes", json={"text": "hush"})

        other = await goofs.client.post(
            "/api/v1/spacecraft", json={"name": "Kepler", "cospar_id": "2009-011A"}
        )
        until = (utcnow() + timedelta(hours=1)).isoformat()
        await goofs.client.put(
            f"/api/v1/spacecraft/{other.json()['id']}/maintenance",
            json={"ends_at": until, "reason": "planned burn"},
        )
        await goofs.client.post(f"/api/v1/spacecraft/{other.json()['id']}/malfunction")
        await consumers_caught_up(goofs.state)  # every delivery it would queue is queued
        await admin.post(f"/api/v1/webhooks/{webhook['id']}/test")
        await settled(admin, webhook["id"], 2)
    assert sorted(r.body["type"] for r in hook.received) == [
        "spacecraft.malfunctioned",
        "webhook.test",
    ]


async def test_slack_endpoints_get_text(hooks: Any) -> None:
    goofs, admin = hooks
    with receiver() as hook:
        await register(admin, hook, format="slack", events=["spacecraft.malfunctioned"])
        craft = await broken_spacecraft(goofs)
        await wait_until(lambda: len(hook.received) == 1, message="the message")
    assert set(hook.received[0].body) == {"text"}
    text = hook.received[0].body["text"]
    assert "*Hubble Space Telescope* malfunctioned" in text
    assert craft["fault"]["description"] in text


async def test_unknown_webhooks_and_deliveries_are_not_found(hooks: Any) -> None:
    _goofs, admin = hooks
    missing = f"/api/v1/webhooks/{uuid.uuid4()}"
    for method, path in (
        ("GET", missing),
        ("PATCH", missing),
        ("DELETE", missing),
        ("POST", f"{missing}/test"),
        ("POST", f"{missing}/rotate-secret"),
        ("GET", f"{missing}/deliveries"),
        ("POST", f"{missing}/deliveries/1/redeliver"),
    ):
        response = await admin.request(method, path, json={} if method == "PATCH" else None)
        assert response.status_code == 404, (method, path, response.text)
    with receiver() as hook:
        webhook = await register(admin, hook)
        gone = await admin.post(f"/api/v1/webhooks/{webhook['id']}/deliveries/99/redeliver")
        assert gone.status_code == 404
        assert (await admin.delete(f"/api/v1/webhooks/{webhook['id']}")).status_code == 204
        assert (await admin.get(f"/api/v1/webhooks/{webhook['id']}")).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"url": "file:///etc/passwd", "events": ["*"]},
        {"url": "gopher://example.com/", "events": ["*"]},
        {"url": "https://hooks.example.com/", "events": []},
        {"url": "https://hooks.example.com/", "events": ["spacecraft.exploded"]},
        {"url": "https://hooks.example.com/", "events": ["*"], "format": "teams"},
        {"url": "https://hooks.example.com/", "events": ["*"], "min_severity": "meh"},
    ],
)
async def test_bad_registrations_are_refused_with_422(hooks: Any, body: dict[str, Any]) -> None:
    _goofs, admin = hooks
    response = await admin.post("/api/v1/webhooks", json=body)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:192.168.1.1]/",
        "http://localhost:6379/",
    ],
)
async def test_private_addresses_are_refused_unless_allowed(sqlite_url: str, url: str) -> None:
    settings = test_settings(sqlite_url, webhook_allow_private=False)
    async with app_with_admin(settings) as (_goofs, admin):
        response = await admin.post("/api/v1/webhooks", json={"url": url, "events": ["*"]})
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "url"] and "private networks" in error["msg"]


async def test_only_admins_manage_webhooks(hooks: Any) -> None:
    goofs, _admin = hooks
    assert (await goofs.client.get("/api/v1/webhooks")).status_code == 403
    body = {"url": "https://hooks.example.com/", "events": ["*"]}
    assert (await goofs.client.post("/api/v1/webhooks", json=body)).status_code == 403
    async with httpx.AsyncClient(base_url=goofs.url, verify=LOOPBACK_SSL) as anonymous:
        assert (await anonymous.get("/api/v1/webhooks")).status_code == 401


async def test_the_webhooks_page_refuses_a_private_url_with_the_reason(sqlite_url: str) -> None:
    async with app_with_admin(test_settings(sqlite_url)) as (_goofs, admin):
        page = await admin.post(
            "/admin/webhooks", data={"url": "http://10.0.0.1/", "events": ["*"]}
        )
        assert page.status_code == 422
        assert "private networks" in page.text and 'aria-invalid="true"' in page.text
        bad = await admin.post("/admin/webhooks", data={"url": "gopher://x/", "events": ["*"]})
        assert bad.status_code == 422 and "http or https" in bad.text
        assert "No endpoints yet" in (await admin.get("/admin/webhooks")).text


async def test_every_attempt_checks_the_address_again(sqlite_url: str) -> None:
    """An endpoint whose host now points inward (DNS rebinding, or a row written before the
    rule) is refused before connecting, and the attempt says so."""
    settings = test_settings(sqlite_url, **{**FAST, "webhook_allow_private": False})
    async with app_with_admin(settings) as (goofs, admin):
        with receiver() as hook:
            change = await goofs.state.db.write(
                service.create_endpoint,
                WebhookCreate(url=hook.url + "/inside", events=["*"]),
                actor="test",
            )
            await admin.post(f"/api/v1/webhooks/{change.webhook.id}/test")
            [delivery] = await settled(admin, str(change.webhook.id), 1)
        assert hook.received == [] and hook.rejected == []
    assert delivery["status"] == "failed"
    assert all(a["error"].startswith("refused before connecting") for a in delivery["attempt_log"])


async def test_metrics_count_attempts_by_outcome_from_zero(hooks: Any) -> None:
    from tests.api.test_metrics import scrape

    goofs, admin = hooks
    outcomes = ("delivered", "retry", "failed", "gone")
    before = (await scrape(goofs))["goofs_webhook_deliveries_total"]
    assert before == {(("outcome", outcome),): 0.0 for outcome in outcomes}

    def twice_500(path: str, webhook_id: str, attempt: int) -> Answer:
        return (500 if attempt <= 2 else 200), {}, 0.0

    with receiver(twice_500) as hook:
        webhook = await register(admin, hook)
        await admin.post(f"/api/v1/webhooks/{webhook['id']}/test")
        await settled(admin, webhook["id"], 1)

    after = (await scrape(goofs))["goofs_webhook_deliveries_total"]
    assert after == {
        (("outcome", "delivered"),): 1.0,
        (("outcome", "retry"),): 2.0,
        (("outcome", "failed"),): 0.0,
        (("outcome", "gone"),): 0.0,
    }
