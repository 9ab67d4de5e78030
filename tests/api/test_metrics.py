"""`/metrics`: Prometheus's text format, the deployment's figures, bounded labels."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.api.test_stream import stream, take
from tests.support import Running, consumers_caught_up, running_app, test_settings, wait_until


async def scrape(goofs: Running) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Each sample's value, by sample name and then by its sorted labels."""
    response = await goofs.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.text):
        assert family.name.startswith("goofs_"), family.name
        samples.setdefault(family.name, {})
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


async def _broken_and_fine(goofs: Running) -> None:
    for number, body in ((1, {"severity": "major"}), (2, None)):
        created = await goofs.client.post(
            "/api/v1/spacecraft", json={"name": f"Probe {number}", "cospar_id": f"2020-00{number}A"}
        )
        assert created.status_code == 201
        if body:
            response = await goofs.client.post(
                f"/api/v1/spacecraft/{created.json()['id']}/malfunction", json=body
            )
            assert response.status_code == 200


async def test_metrics_show_the_fleet_its_anomalies_and_its_events(goofs: Running) -> None:
    await _broken_and_fine(goofs)
    await consumers_caught_up(goofs.state)
    await wait_until(lambda: goofs.state.hub.last_seq == 3, message="the hub's fan-out")

    metrics = await scrape(goofs)

    assert metrics["goofs_spacecraft"] == {
        (("status", "MALFUNCTIONING"),): 1.0,
        (("status", "NOMINAL"),): 1.0,
    }
    open_anomalies = metrics["goofs_open_anomalies"]
    assert len(open_anomalies) == 9, "every severity and unresolved state, zeros included"
    assert open_anomalies[(("severity", "major"), ("state", "open"))] == 1.0
    assert sum(open_anomalies.values()) == 1.0
    events = metrics["goofs_events_total"]
    assert events[(("type", "spacecraft.created"),)] == 2.0
    assert events[(("type", "spacecraft.malfunctioned"),)] == 1.0
    assert events[(("type", "anomaly.acknowledged"),)] == 0.0
    assert set(metrics["goofs_fleet_availability_ratio"]) == {
        (("window", window),) for window in ("24h", "7d", "30d")
    }
    assert metrics["goofs_delivery_lag_seconds_count"][()] == 3.0
    assert "goofs_webhook_deliveries" in metrics, "the family is there before any webhook"
    assert "goofs_spacecraft_availability_ratio" not in metrics


async def test_stream_clients_are_counted_while_they_are_connected(goofs_sqlite: Running) -> None:
    async def clients() -> float:
        return (await scrape(goofs_sqlite))["goofs_stream_clients"][(("format", "json"),)]

    assert await clients() == 0.0
    async with stream(goofs_sqlite, params={"after": 0}) as events:
        await _broken_and_fine(goofs_sqlite)
        await take(events, 1)
        assert await clients() == 1.0


async def test_per_spacecraft_series_come_only_when_asked_for(sqlite_url: str) -> None:
    settings = test_settings(sqlite_url, metrics_per_spacecraft=True)
    async with running_app(settings) as goofs:
        await _broken_and_fine(goofs)

        metrics = await scrape(goofs)

    per_craft: dict[Any, float] = metrics["goofs_spacecraft_availability_ratio"]
    assert len(per_craft) == 2
    assert all(dict(labels)["window"] == "30d" for labels in per_craft)


async def test_metrics_are_private_when_reading_is(sqlite_url: str) -> None:
    async with running_app(test_settings(sqlite_url, public_read=False)) as goofs:
        async with httpx.AsyncClient(base_url=goofs.url) as anonymous:
            refused = await anonymous.get("/metrics")
        allowed = await goofs.client.get("/metrics")

    assert refused.status_code == 401
    assert allowed.status_code == 200


async def test_counters_read_from_the_log_survive_a_restart(sqlite_url: str) -> None:
    async with running_app(test_settings(sqlite_url)) as goofs:
        await _broken_and_fine(goofs)
        await consumers_caught_up(goofs.state)
        before = (await scrape(goofs))["goofs_events_total"]
    async with running_app(test_settings(sqlite_url)) as goofs:
        after = (await scrape(goofs))["goofs_events_total"]

    assert after == before
