"""The deployment bench's report of its sweep (`bench.report`), from made-up results: the table
and the plot of delivery latency against stream clients, one line per instance count."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from bench import report

if TYPE_CHECKING:
    # Imported by the tests that draw, not at collection: pyplot alone takes over a second,
    # in every process of the fast layer.
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

MACHINE = {"cpu": "test", "cores": "0/1", "python": "3", "kernel": "6"}


def swept(instances: int, clients: int, p99: float) -> dict[str, Any]:
    """One sweep run as `bench.deployment.sweep` returns it, with the fields the report reads."""
    return {
        "target": "sweep",
        "scenario": f"sweep {clients:,} clients, {instances} instance(s)",
        "server": "goofs",
        "mode": "stream",
        "instances": instances,
        "clients": clients,
        "connected": clients,
        "connections_per_instance": [clients // instances + 1] * instances,
        "stalled": 0,
        "delivery_ms": {"p50": p99 / 2, "p95": p99 * 0.9, "p99": p99, "max": p99 * 1.2},
        "api_ms": {"p50": 3.0, "p95": 5.0, "p99": 7.0, "max": 9.0},
        "lost": 0,
        "duplicated": 0,
        "out_of_order": 0,
        "rate": 20.0,
        "changes_per_s": 20.0,
        "server_cpu_s": clients / 200,
        "wall_s": 10.0,
        "server_cpu_share": clients / 2000,
        "peak_rss_mb": 120.0,
        "deliveries_per_cpu_s": 40_000.0,
        "bytes_per_event_per_client": 1380.0,
        "server_core_busy": 0.4,
        "harness_core_busy": 0.3,
        "core_probe_ms": 101.0,
        "longest_gc_pause_ms": 0.0,
    }


def write_path(changes_per_s: float) -> dict[str, Any]:
    latency = {"p50": 5.0, "p95": 20.0, "p99": 30.0, "max": 40.0}
    return {
        "max_changes_per_s": changes_per_s,
        "max_failed": 0,
        "max_api_ms": latency,
        "server_cpu_ms_per_change": 1000 / changes_per_s,
        "paced_failed": 0,
        "paced_api_ms": latency,
        "core_probe_ms": 100.0,
    }


@pytest.fixture
def results() -> dict[str, Any]:
    # In the order the bench runs them: each count on one instance, then on two.
    runs = [
        swept(instances, clients, p99)
        for clients, p99s in ((100, (8.0, 9.0)), (1000, (40.0, 35.0)), (2000, (140.0, 90.0)))
        for instances, p99 in zip((1, 2), p99s, strict=True)
    ]
    return {
        "machine": MACHINE,
        "started": "now",
        "deployment_write_path": {"sqlite": write_path(1000.0), "postgres": write_path(500.0)},
        "runs": runs,
    }


def test_the_sweep_table_has_a_row_per_run_by_instances_then_clients(
    results: dict[str, Any],
) -> None:
    text = report.markdown(results)

    table = text[text.index("| sweep via nginx |") :].splitlines()
    rows = [line.split(" | ")[:2] for line in table[2:] if line.startswith("| ")]
    assert rows == [
        ["| 1 instance", "100"],
        ["| 1 instance", "1,000"],
        ["| 1 instance", "2,000"],
        ["| 2 instances", "100"],
        ["| 2 instances", "1,000"],
        ["| 2 instances", "2,000"],
    ]
    assert (
        "| 2 instances | 2,000 | 2,000 | 1001 + 1001 | 45.0 / 90.0 | 0 / 0 / 0 | 20.0 | 100% |"
        in (text)
    )


def test_a_report_without_a_sweep_has_no_sweep_table(results: dict[str, Any]) -> None:
    results["runs"] = []

    assert "sweep via nginx" not in report.markdown(results)


@pytest.fixture
def figure(results: dict[str, Any]) -> Iterator[Figure]:
    import matplotlib.pyplot as plt

    figure = report.deployment_figure(results)
    yield figure
    plt.close(figure)


def points(line: Line2D) -> list[float]:
    return [float(y) for y in np.asarray(line.get_ydata())]


def test_the_plot_has_a_p99_line_per_instance_count_and_the_target(figure: Figure) -> None:
    latency, cpu = figure.axes

    lines = {line.get_label(): line for line in latency.get_lines()}
    assert set(lines) == {
        "1 instance p99",
        "1 instance p50",
        "2 instances p99",
        "2 instances p50",
        "target: p99 100 ms",
    }
    assert np.asarray(lines["1 instance p99"].get_xdata()).tolist() == [100, 1000, 2000]
    assert points(lines["1 instance p99"]) == [8.0, 40.0, 140.0]
    assert points(lines["2 instances p99"]) == [9.0, 35.0, 90.0]
    assert points(lines["target: p99 100 ms"]) == [100.0, 100.0]
    assert latency.get_xscale() == "log" and latency.get_xlabel() == "stream clients"
    assert latency.get_ylabel() == "delivery latency (ms)"
    assert latency.get_title() == "Delivery latency via nginx at 20 changes/s"
    legend = latency.get_legend()
    assert legend is not None and [text.get_text() for text in legend.get_texts()] == list(lines)
    assert [tick.get_text() for tick in latency.get_xticklabels()] == ["100", "1,000", "2,000"]
    shares = {line.get_label(): points(line) for line in cpu.get_lines()}
    assert shares == {"1 instance": [5.0, 50.0, 100.0], "2 instances": [5.0, 50.0, 100.0]}


def test_the_plot_is_written_as_a_png(results: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "deployment.png"

    report.plot_deployment(results, path)

    import matplotlib.image

    height, width, _ = matplotlib.image.imread(path).shape
    assert (width, height) == (800, 320), "10 by 4 inches at 80 dpi, as performance.png"


def test_the_write_path_target_is_judged_on_the_median_pair_and_lists_them_all(
    results: dict[str, Any],
) -> None:
    pairs = [
        {"sqlite": write_path(800.0), "postgres": write_path(400.0)},  # 2.00x the CPU
        {"sqlite": write_path(600.0), "postgres": write_path(540.0)},  # 1.11x, the median
        {"sqlite": write_path(500.0), "postgres": write_path(550.0)},  # 0.91x
    ]
    results["deployment_write_path"] = pairs[1] | {"pairs": pairs}

    [(_, measured, met)] = [
        target for target in report.deployment_targets(results) if target[0].startswith("(a)")
    ]

    assert met
    assert "**1.11x**" in measured and "**0.90x**" in measured
    assert "2.00x and 0.50x, 1.11x and 0.90x, 0.91x and 1.10x" in measured

    results["deployment_write_path"] = pairs[0] | {"pairs": pairs}
    [(_, _, met)] = [
        target for target in report.deployment_targets(results) if target[0].startswith("(a)")
    ]
    assert not met
