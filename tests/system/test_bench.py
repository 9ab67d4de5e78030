"""A tiny run of the benchmark harness, so `bench/` cannot rot. Not a timing test."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import companions, floor, gc_pauses, report
from bench.harness import Harness, Scenario
from tests.support import Running


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path, workers=2)
    try:
        yield harness
    finally:
        harness.close()


@pytest.mark.parametrize("server", ["goofs", "floor"])
async def test_every_reader_gets_every_change_once_and_in_order(
    harness: Harness, server: str
) -> None:
    result = await harness.run(Scenario("smoke", clients=4, rate=10, seconds=1, server=server))

    assert result["connected"] == 4
    assert result["events"] >= 5
    assert result["deliveries"] == 4 * result["events"]
    assert (result["lost"], result["duplicated"], result["out_of_order"]) == (0, 0, 0)
    # The floor may use less than one clock tick of CPU in a second; its memory is always there.
    assert result["server_cpu_s"] >= 0 and result["peak_rss_mb"] > 0
    assert result["longest_gc_pause_ms"] >= 0
    assert 0 <= result["delivery_ms"]["p50"] <= result["delivery_ms"]["max"]


async def test_the_refetch_design_and_a_stalled_client_are_measured(harness: Harness) -> None:
    result = await harness.run(
        Scenario("old design", clients=2, rate=5, seconds=1, mode="refetch", stalled=1)
    )

    assert (result["connected"], result["stalled"]) == (2, 1)
    assert result["lost"] == 0
    # The stalled client, once it reads, has every event of the run (buffered or replayed).
    assert (result["stalled_caught_up"], result["stalled_lost"]) == (1, 0)
    # Every event costs each client a whole fleet list, not one frame.
    assert result["bytes_per_event_per_client"] > 10_000


def test_the_report_has_a_row_per_run_and_the_floor_ratio() -> None:
    run = {
        "scenario": "1k",
        "server": "goofs",
        "mode": "stream",
        "target": "1",
        "clients": 2,
        "connected": 2,
        "stalled": 0,
        "stalled_dropped": 0,
        "stalled_caught_up": 0,
        "stalled_lost": 0,
        "delivery_ms": {"p50": 1.0, "p95": 2.0, "p99": 3.0, "max": 4.0},
        "api_ms": {"p50": 1.0, "p95": 2.0, "p99": 3.0, "max": 4.0},
        "lost": 0,
        "duplicated": 0,
        "out_of_order": 0,
        "changes_per_s": 5.0,
        "server_cpu_s": 1.0,
        "peak_rss_mb": 80.0,
        "deliveries_per_cpu_s": 800.0,
        "bytes_per_event_per_client": 700.0,
        "server_core_busy": 0.5,
        "harness_core_busy": 0.1,
        "harness_cpu_share": 0.05,
    }
    floor = run | {"scenario": "1k (floor)", "server": "floor", "deliveries_per_cpu_s": 1000.0}
    pairs = [
        run | {"scenario": "1k #2", "deliveries_per_cpu_s": 900.0},
        floor | {"scenario": "1k #2 (floor)"},
        run | {"scenario": "1k #3", "deliveries_per_cpu_s": 1000.0},
        floor | {"scenario": "1k #3 (floor)", "deliveries_per_cpu_s": 800.0},
    ]
    machine = {"cpu": "test", "cores": "0/1", "python": "3", "kernel": "6"}

    text = report.markdown({"machine": machine, "started": "now", "runs": [run, floor, *pairs]})

    assert "| 1 | 1k |" in text and "| 1 | 1k (floor) |" in text
    assert "- 1k: 800 deliveries per server CPU-second, the floor 1,000: **80%**" in text
    median = "- 1k, 3 interleaved pairs: median **90%** of the floor (lowest 80%, highest 125%)"
    assert median in text


def test_long_collector_pauses_are_written_down_with_their_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "gc.log"
    monkeypatch.setattr(gc_pauses, "LONG_PAUSE", 0.0)  # every collection counts as long
    callbacks = list(gc.callbacks)
    before = time.monotonic()
    try:
        gc_pauses.record_long_pauses(log)
        gc.collect()
    finally:
        gc.callbacks[:] = callbacks
    after = time.monotonic()

    started, took, generation = log.read_text().splitlines()[-1].split()
    assert before <= float(started) <= after and generation == "2"
    assert gc_pauses.longest_pause_ms(log, before, after) == float(took)
    assert gc_pauses.longest_pause_ms(log, after + 1, after + 2) == 0.0


def _shape(value: object) -> object:
    """The keys of every object in a JSON value, with the values left out."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    return type(value).__name__


async def test_the_floor_sends_the_events_the_real_server_writes(goofs_sqlite: Running) -> None:
    client = goofs_sqlite.client
    craft = (
        await client.post(
            "/api/v1/spacecraft", json={"name": "Bench-00000", "cospar_id": "1957-001A"}
        )
    ).json()
    await client.post(f"/api/v1/spacecraft/{craft['id']}/malfunction")
    await client.post(f"/api/v1/spacecraft/{craft['id']}/repair")
    real = (await client.get("/api/v1/events")).json()["items"][-2:]

    ours = [floor._event(1), floor._event(floor.FLEET + 1)]  # a malfunction, then its repair

    for written, imitated in zip(real, ours, strict=True):
        imitation = imitated.model_dump(mode="json")
        assert imitation["type"] == written["type"]
        assert _shape(imitation) == _shape(written)
        # Same text, within the length of a fault description: the bytes per delivery match.
        assert abs(len(str(imitation)) - len(str(written))) < 80


# A fleet made through the API, then one server with all three companions beside it.
@pytest.mark.timeout(300)
async def test_the_companions_load_the_server_beside_the_scenario(harness: Harness) -> None:
    harness.companions = companions.parse("webhooks,analytics,map")
    result = await harness.run(Scenario("with all three", clients=2, rate=10, seconds=1))

    assert result["lost"] == 0
    done = {beside["kind"]: beside for beside in result["companions"]}
    assert done["webhooks"]["endpoints"] == 10
    assert done["webhooks"]["webhooks_received"] > 0
    assert done["analytics"]["streams"] == 50 and done["analytics"]["failed"] == 0
    assert done["analytics"]["frames"] >= 50 * 5, "every browser's stream had the changes"
    assert done["map"]["maps"] == 50 and done["map"]["failed"] == 0
    assert done["map"]["requests"] >= 50 * 6, "each map's page, stylesheets, scripts and land"


async def test_the_floor_gets_no_companion(harness: Harness) -> None:
    harness.companions = companions.parse("map")
    result = await harness.run(Scenario("floor", clients=2, rate=5, seconds=1, server="floor"))
    assert result["companions"] == []


def test_an_unknown_companion_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown companion maps"):
        companions.parse("webhooks,maps")
    assert companions.parse("none") == ()
    assert companions.parse("map,map") == ("map",)
