"""A tiny run of the deployment bench (`python -m bench --deployment`), so it cannot rot.
Not a timing test: every scenario runs and is judged, with nothing lost, and the sweep is
tabled and plotted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from bench import deployment, report
from bench.harness import Harness
from devkit import postgres
from devkit.nginx import nginx_binary
from devkit.redis_server import redis_server_binary
from tests.support import require

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    require("nginx", nginx_binary() is not None, "not installed (`make nginx`)")
    require("redis-server", redis_server_binary() is not None, "`make redis-server`")
    harness = Harness(tmp_path, workers=2)
    try:
        yield harness
    finally:
        harness.close()


# Two fleets made through the API, then six servers two at a time, then one and two more for a
# sweep of one client count.
@pytest.mark.timeout(400)
async def test_every_deployment_scenario_runs_and_loses_nothing(
    harness: Harness, tmp_path: Path
) -> None:
    try:
        await postgres.admin("SELECT 1")
    except (OSError, asyncpg.PostgresError) as error:
        require("PostgreSQL", False, f"{postgres.ADMIN_URL}: {error}")

    results = await deployment.run(harness, scale=0.004, seconds=3, sweep_clients=(500,), pairs=2)

    write = results["deployment_write_path"]
    assert set(write) == {"sqlite", "postgres", "postgres_nginx", "pairs"}
    assert len(write["pairs"]) == 2 and {write["sqlite"]["core_probe_ms"]} <= {
        pair["sqlite"]["core_probe_ms"] for pair in write["pairs"]
    }, "the median pair is one of the pairs"
    paths = [write["postgres_nginx"], *(run for pair in write["pairs"] for run in pair.values())]
    for path in paths:
        assert path["max_failed"] == path["paced_failed"] == 0
        assert path["max_changes_per_s"] > 0 and path["server_cpu_ms_per_change"] > 0
    assert write["postgres"]["postgres_cpu_ms_per_change"] > 0, "its backends were counted"
    runs = {run["target"]: run for run in results["runs"] if run["target"] != "sweep"}
    assert set(runs) == {"b", "c", "d"}
    for run in runs.values():
        assert run["connected"] == run["clients"] == 4
        assert run["events"] > 0
        assert (run["lost"], run["duplicated"], run["out_of_order"]) == (0, 0, 0)
        assert all(run["connections_per_instance"]), "nginx spread the clients over both"
    assert runs["c"]["p99_timeline"], "the latency around the Redis restart, window by window"
    assert runs["d"]["dropped_clients"] >= 1, "the killed instance had clients"
    assert runs["d"]["not_resumed"] == 0, "each came back through nginx"
    sweep = [run for run in results["runs"] if run["target"] == "sweep"]
    assert [(run["instances"], run["clients"]) for run in sweep] == [(1, 2), (2, 2)]
    for run in sweep:
        assert run["connected"] == 2 and run["events"] > 0
        assert (run["lost"], run["duplicated"], run["out_of_order"]) == (0, 0, 0)
        assert len(run["connections_per_instance"]) == run["instances"]
        assert all(run["connections_per_instance"]), "every instance served through nginx"
        assert run["server_cpu_share"] > 0

    machine = {"cpu": "test", "cores": "0/1", "python": "3", "kernel": "6"}
    text = report.markdown({"machine": machine, "started": "now", **results})
    assert "| PostgreSQL + Redis, 2 instances via nginx |" in text
    judged = [target for target, _, _ in report.deployment_targets(results)]
    assert [target[:3] for target in judged] == ["(a)", "(b)", "(c)", "(d)"]
    assert "| 1 instance | 2 | 2 |" in text and "| 2 instances | 2 | 2 |" in text
    plot = tmp_path / "deployment.png"
    report.plot_deployment(results, plot)
    assert plot.read_bytes().startswith(b"\x89PNG")
