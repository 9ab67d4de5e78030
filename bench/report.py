"""The benchmark's report: a markdown table per part, and the latency/CPU plot."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import companions

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DELIVERY_P99_TARGET_MS = 100.0
"""The stream's latency target at 20 changes/s, one instance or several (issue 19)."""
DEPLOYMENT_MARKERS = {1: "o", 2: "s"}
"""Marker per instance count in the deployment plot."""


def one_line(run: dict[str, Any]) -> str:
    delivery = run["delivery_ms"]
    return (
        f"{run['scenario']}: {run['connected']}/{run['clients']} connected, "
        f"p50 {delivery['p50']:.1f} p99 {delivery['p99']:.1f} max {delivery['max']:.1f} ms, "
        f"lost {run['lost']} dup {run['duplicated']} ooo {run['out_of_order']}, "
        f"{run['changes_per_s']:.1f} changes/s, server cpu {run['server_cpu_s']:.2f} s, "
        f"rss {run['peak_rss_mb']:.0f} MB, {run['deliveries_per_cpu_s']:.0f} deliveries/cpu-s, "
        f"harness core {run['harness_core_busy']:.0%}"
    )


def markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    lines = [
        f"Measured {results['started']} on {machine['cpu']}, {machine['cores']}, "
        f'Python {machine["python"]}, Linux {machine["kernel"]}. "core probe" is how long a '
        "fixed pure-Python loop took on the server's core just before the scenario (lower is "
        "faster): the machine's speed drifts, so compare runs of similar probes.",
        "",
        *_companion(results),
        "| target | scenario | connected | delivery p50 / p95 / p99 / max (ms) "
        "| lost / dup / out of order | changes/s | API p50 / p99 (ms) | server CPU (s) "
        "| peak RSS (MB) | deliveries per CPU-s | bytes/event/client | server core busy "
        "| harness core busy | core probe (ms) | longest GC pause (ms) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in results["runs"]:
        d, api = run["delivery_ms"], run["api_ms"]
        connected = f"{run['connected']}/{run['clients']}"
        if run["stalled"]:
            connected += (
                f" + {run['stalled']} stalled ({run['stalled_dropped']} dropped; on resuming "
                f"{run['stalled_caught_up']} caught up, {run['stalled_lost']} lost)"
            )
        lines.append(
            f"| {run['target']} | {run['scenario']} | {connected} "
            f"| {d['p50']:.1f} / {d['p95']:.1f} / {d['p99']:.1f} / {d['max']:.1f} "
            f"| {run['lost']} / {run['duplicated']} / {run['out_of_order']} "
            f"| {run['changes_per_s']:.1f} | {api['p50']:.1f} / {api['p99']:.1f} "
            f"| {run['server_cpu_s']:.2f} | {run['peak_rss_mb']:.0f} "
            f"| {run['deliveries_per_cpu_s']:,.0f} | {run['bytes_per_event_per_client']:.0f} "
            f"| {run['server_core_busy']:.0%} | {run['harness_core_busy']:.0%} "
            f"| {run.get('core_probe_ms', float('nan')):.0f} "
            f"| {run.get('longest_gc_pause_ms', float('nan')):.0f} |"
        )
    lines += ["", *_ratios(results["runs"])]
    if write := results.get("write_path"):
        lines += [
            "",
            "| write path (SQLite, no readers) | value |",
            "|---|---|",
            f"| flat out, 8 in flight | {write['max_changes_per_s']:.0f} changes/s, "
            f"API p50 {write['max_api_ms']['p50']:.1f} / p99 {write['max_api_ms']['p99']:.1f} ms, "
            f"{write['server_cpu_ms_per_change']:.2f} ms server CPU per change, "
            f"{write['max_failed']} failed |",
            f"| paced at {write['paced_rate']:.0f}/s | {write['paced_changes_per_s']:.0f} "
            f"changes/s, API p50 {write['paced_api_ms']['p50']:.1f} / "
            f"p99 {write['paced_api_ms']['p99']:.1f} ms, {write['paced_failed']} failed |",
            f"| core probe | {write.get('core_probe_ms', float('nan')):.0f} ms |",
        ]
    if results.get("deployment_write_path"):
        lines += ["", *_deployment(results)]
    if board := results.get("board"):
        lines += [
            "",
            f"| board, {board['spacecraft']:,} spacecraft | matches | median (ms) | p95 (ms) |",
            "|---|---|---|---|",
        ]
        for name, timing in board.items():
            if isinstance(timing, dict):
                lines.append(
                    f"| {name} | {timing['total']:,} | {timing['p50']:.1f} | {timing['p95']:.1f} |"
                )
        lines.append(f"| core probe (ms) | {board.get('core_probe_ms', float('nan')):.0f} | | |")
    return "\n".join(lines) + "\n"


def _deployment(results: dict[str, Any]) -> list[str]:
    """The deployment's write paths side by side, and its targets (`bench.deployment`)."""
    write = results["deployment_write_path"]
    names = {
        "sqlite": "SQLite, 1 instance",
        "postgres": "PostgreSQL + Redis, 1 instance",
        "postgres_nginx": "PostgreSQL + Redis, 2 instances via nginx",
    }
    lines = [
        "| write path, 8 in flight (no readers) | changes/s | API p50 / p99 (ms) "
        "| app CPU per change (ms) | PostgreSQL CPU per change (ms) | failed "
        "| paced at 200/s: API p99 (ms), failed | core probe (ms) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, name in names.items():
        if (path := write.get(key)) is None:
            continue
        database = path.get("postgres_cpu_ms_per_change")
        lines.append(
            f"| {name} | {path['max_changes_per_s']:.0f} | {path['max_api_ms']['p50']:.1f} / "
            f"{path['max_api_ms']['p99']:.1f} | {path['server_cpu_ms_per_change']:.2f} "
            f"| {'-' if database is None else f'{database:.2f}'} | {path['max_failed']} "
            f"| {path['paced_api_ms']['p99']:.1f}, {path['paced_failed']} "
            f"| {path.get('core_probe_ms', float('nan')):.0f} |"
        )
    lines += ["", "| target | measured | met? |", "|---|---|---|"]
    for target, measured, met in deployment_targets(results):
        lines.append(f"| {target} | {measured} | {'yes' if met else '**no**'} |")
    if sweep := deployment_sweep(results):
        lines += ["", *sweep]
    return lines


def write_ratios(pair: dict[str, Any]) -> tuple[float, float]:
    """PostgreSQL's CPU per change and throughput over SQLite's, in one pair of scenario (a)."""
    sqlite, postgres = pair["sqlite"], pair["postgres"]
    return (
        postgres["server_cpu_ms_per_change"] / sqlite["server_cpu_ms_per_change"],
        postgres["max_changes_per_s"] / sqlite["max_changes_per_s"],
    )


def deployment_sweep(results: dict[str, Any]) -> list[str]:
    """The deployment's sweep, by instances then clients: what `plot_deployment` draws."""
    runs = sorted(
        (run for run in results["runs"] if run["target"] == "sweep"),
        key=lambda run: (run["instances"], run["clients"]),
    )
    if not runs:
        return []
    lines = [
        "| sweep via nginx | clients | connected | connections per instance "
        "| delivery p50 / p99 (ms) | lost / dup / out of order | changes/s "
        "| server CPU (% of one core) | core probe (ms) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        d, instances = run["delivery_ms"], run["instances"]
        lines.append(
            f"| {instances} instance{'s' * (instances > 1)} | {run['clients']:,} "
            f"| {run['connected']:,} "
            f"| {' + '.join(str(n) for n in run['connections_per_instance'])} "
            f"| {d['p50']:.1f} / {d['p99']:.1f} "
            f"| {run['lost']} / {run['duplicated']} / {run['out_of_order']} "
            f"| {run['changes_per_s']:.1f} | {run['server_cpu_share']:.0%} "
            f"| {run.get('core_probe_ms', float('nan')):.0f} |"
        )
    return lines


def deployment_targets(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """Each target of the deployment (issue 19) with what was measured and whether it is met."""
    targets = []
    write = results["deployment_write_path"]
    sqlite, postgres = write.get("sqlite"), write.get("postgres")
    if sqlite and postgres:
        cpu, speed = write_ratios({"sqlite": sqlite, "postgres": postgres})
        pairs = write.get("pairs", [])
        failed = sum(
            pair["postgres"]["max_failed"] + pair["postgres"]["paced_failed"]
            for pair in pairs or [{"postgres": postgres}]
        )
        measured = (
            f"{postgres['server_cpu_ms_per_change']:.2f} against "
            f"{sqlite['server_cpu_ms_per_change']:.2f} ms: **{cpu:.2f}x**; "
            f"{postgres['max_changes_per_s']:.0f} against {sqlite['max_changes_per_s']:.0f} "
            f"changes/s: **{speed:.2f}x**; {failed} failed"
        )
        if len(pairs) > 1:
            measured += (
                f" (the median of {len(pairs)} interleaved pairs by CPU; each pair's CPU and "
                "throughput ratios: "
                + ", ".join("{:.2f}x and {:.2f}x".format(*write_ratios(pair)) for pair in pairs)
                + ")"
            )
        targets.append(
            (
                "(a) PostgreSQL + Redis write path: CPU per change <= 1.3x SQLite's, "
                "throughput >= 0.8x, 0 failed",
                measured,
                cpu <= 1.3 and speed >= 0.8 and failed == 0,
            )
        )
    for run in results["runs"]:
        d = run["delivery_ms"]
        clean = (run["lost"], run["duplicated"], run["out_of_order"]) == (0, 0, 0)
        counts = (
            f"{run['connected']}/{run['clients']} connected "
            f"({' + '.join(str(n) for n in run['connections_per_instance'])} connections "
            f"per instance), {run['lost']} lost / {run['duplicated']} dup / "
            f"{run['out_of_order']} out of order"
        )
        if "drain_s" in run:
            counts += f", the last client done {run['drain_s']:.1f} s after the last change"
        if run["target"] == "b":
            targets.append(
                (
                    "(b) through nginx on 2 instances, 20 changes/s: p99 <= 100 ms, "
                    "0 lost / duplicated / out of order",
                    f"p99 {d['p99']:.1f} ms; {counts}",
                    d["p99"] <= 100 and clean,
                )
            )
        elif run["target"] == "c":
            recovered = run["p99_recovered_s"]
            down = run["redis_down_ms"]
            targets.append(
                (
                    "(c) Redis restarted: 0 lost; p99 back under 100 ms within 5 s of its return",
                    f"back under 100 ms {recovered:.1f} s after Redis returned; p99 of events "
                    f"made while it was down {down['p99']:.0f} ms; before the stop "
                    f"{run['p99_before_ms']:.0f} ms, 5 s after the return "
                    f"{run['p99_5s_after_ms']:.0f} ms, later {run['p99_later_ms']:.0f} ms; "
                    f"{counts}",
                    run["lost"] == 0 and recovered <= 5,
                )
            )
        elif run["target"] == "d":
            waits = run["resumed_ms"]
            targets.append(
                (
                    "(d) one instance killed: 0 lost; every client of it live again through "
                    "nginx within 10 s",
                    f"{run['dropped_clients']} clients dropped, {run['not_resumed']} not back; "
                    f"back after p50 {waits['p50'] / 1000:.2f} s, the last "
                    f"{waits['max'] / 1000:.2f} s; {run['api_failed']} changes failed "
                    f"(in flight to it); p99 before the kill {run['p99_before_ms']:.0f} ms, "
                    f"5 s after {run['p99_5s_after_ms']:.0f} ms, later "
                    f"{run['p99_later_ms']:.0f} ms; {counts}",
                    run["lost"] == 0 and run["not_resumed"] == 0 and waits["max"] <= 10_000,
                )
            )
    return targets


def _ratios(runs: list[dict[str, Any]]) -> list[str]:
    """Our deliveries per server CPU-second against the floor's, in the same configuration.

    A scenario named `X #N` is pair N of scenario `X`; a scenario run in several pairs also
    gets the median of its pairs' ratios.
    """
    by_name = {run["scenario"]: run for run in runs}
    lines = []
    pairs: dict[str, list[float]] = {}
    for run in runs:
        floor = by_name.get(f"{run['scenario']} (floor)")
        if run["server"] != "goofs" or floor is None:
            continue
        ratio = run["deliveries_per_cpu_s"] / floor["deliveries_per_cpu_s"]
        pairs.setdefault(run["scenario"].split(" #")[0], []).append(ratio)
        lines.append(
            f"- {run['scenario']}: {run['deliveries_per_cpu_s']:,.0f} deliveries per server "
            f"CPU-second, the floor {floor['deliveries_per_cpu_s']:,.0f}: **{ratio:.0%}** of the "
            f"floor."
        )
    for scenario, ratios in pairs.items():
        if len(ratios) > 1:
            lines.append(
                f"- {scenario}, {len(ratios)} interleaved pairs: median "
                f"**{statistics.median(ratios):.0%}** of the floor "
                f"(lowest {min(ratios):.0%}, highest {max(ratios):.0%})."
            )
    for run in runs:
        if run["mode"] == "refetch":
            lines.append(
                f"- refetch design ({run['clients']} clients, {run['rate']:g} change/s): "
                f"p99 {run['delivery_ms']['p99']:.0f} ms, "
                f"{run['deliveries_per_cpu_s']:,.0f} deliveries per server CPU-second, "
                f"{run['bytes_per_event_per_client']:,.0f} bytes per event per client."
            )
    return lines


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep = [run for run in results["runs"] if run["target"] == "sweep"]
    figure, (latency, cpu) = plt.subplots(1, 2, figsize=(10, 4), dpi=80)
    for server, style in (("goofs", "o-"), ("floor", "s--")):
        runs = sorted((r for r in sweep if r["server"] == server), key=lambda r: r["clients"])
        if not runs:
            continue
        counts = [r["clients"] for r in runs]
        label = "goofs" if server == "goofs" else "bare broadcaster"
        latency.plot(counts, [r["delivery_ms"]["p99"] for r in runs], style, label=f"{label} p99")
        latency.plot(
            counts, [r["delivery_ms"]["p50"] for r in runs], style, alpha=0.5, label=f"{label} p50"
        )
        cpu.plot(counts, [r["server_cpu_s"] / r["wall_s"] * 100 for r in runs], style, label=label)
    latency.set(
        xlabel="stream clients",
        ylabel="delivery latency (ms)",
        xscale="log",
        title="Delivery latency at 5 changes/s",
    )
    cpu.set(
        xlabel="stream clients",
        ylabel="server CPU (% of one core)",
        xscale="log",
        title="Server CPU at 5 changes/s",
    )
    for axes in (latency, cpu):
        axes.grid(True, alpha=0.3)
        axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def plot_deployment(results: dict[str, Any], path: Path) -> None:
    """The deployment's sweep (`deployment_figure`) as a PNG."""
    import matplotlib.pyplot as plt

    figure = deployment_figure(results)
    figure.savefig(path)
    plt.close(figure)


def deployment_figure(results: dict[str, Any]) -> Figure:
    """Delivery latency and server CPU against stream clients in the deployment's sweep, one
    line per instance count behind nginx."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep = [run for run in results["runs"] if run["target"] == "sweep"]
    rates = sorted({f"{run['rate']:g}" for run in sweep})
    at = f"{' / '.join(rates)} changes/s"
    figure, (latency, cpu) = plt.subplots(1, 2, figsize=(10, 4), dpi=80)
    for index, instances in enumerate(sorted({run["instances"] for run in sweep})):
        runs = sorted((r for r in sweep if r["instances"] == instances), key=lambda r: r["clients"])
        counts = [r["clients"] for r in runs]
        # One colour and marker per instance count; p50 the same, faint and dotted.
        style = {"color": f"C{index}", "marker": DEPLOYMENT_MARKERS.get(instances, "^")}
        label = f"{instances} instance{'s' * (instances > 1)}"
        p99s = [r["delivery_ms"]["p99"] for r in runs]
        latency.plot(counts, p99s, **style, label=f"{label} p99")
        p50s = [r["delivery_ms"]["p50"] for r in runs]
        latency.plot(counts, p50s, **style, linestyle=":", alpha=0.5, label=f"{label} p50")
        cpu.plot(counts, [r["server_cpu_share"] * 100 for r in runs], **style, label=label)
    latency.axhline(
        DELIVERY_P99_TARGET_MS,
        linestyle="--",
        color="grey",
        label=f"target: p99 {DELIVERY_P99_TARGET_MS:.0f} ms",
    )
    latency.set(
        xlabel="stream clients",
        ylabel="delivery latency (ms)",
        title=f"Delivery latency via nginx at {at}",
    )
    latency.set_ylim(bottom=0)
    cpu.set(
        xlabel="stream clients",
        ylabel="server CPU, all instances (% of one core)",
        title=f"Server CPU at {at}",
    )
    cpu.set_ylim(bottom=0)
    counts = sorted({run["clients"] for run in sweep})
    for axes in (latency, cpu):
        axes.set_xscale("log")
        # The sweep's own counts on the axis, rather than powers of ten alone.
        axes.set_xticks(counts, [f"{count:,}" for count in counts])
        axes.minorticks_off()
        axes.grid(True, alpha=0.3)
        axes.legend()
    figure.tight_layout()
    return figure


COMPANIONS = {
    "webhooks": "10 webhook endpoints to a loopback receiver, dispatched throughout",
    "analytics": "50 browsers on /analytics (page, its stream, the charts' re-fetch)",
    "map": "50 browsers on /map (page, land, positions every 5 s)",
}


def _companion(results: dict[str, Any]) -> list[str]:
    """The header's line on the load beside each scenario, and what it did in each."""
    kinds = companions.parse(results.get("companion", "none"))
    if not kinds:
        return ["Companion load: none (`--companion none`).", ""]
    what = "; ".join(COMPANIONS.get(kind, kind) for kind in kinds)
    lines = [
        f"Companion load (`--companion {','.join(kinds)}`), beside every scenario on the real "
        f"server (not the floor's): {what}.",
        "",
    ]
    for run in results["runs"]:
        for done in run.get("companions") or []:
            figures = ", ".join(f"{key} {value}" for key, value in done.items() if key != "kind")
            lines.append(f"- {run['scenario']}, {done['kind']}: {figures}")
    return [*lines, ""] if len(lines) > 2 else lines
