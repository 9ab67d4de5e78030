"""Runs one scenario end to end: a fresh server, N readers, changes at a rate, then the checks."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from bench import clients, companions, servers
from bench.http import Pool, drive, hammer
from bench.receiver import Receiver

STREAM_PATHS = {"goofs": "/api/v1/events/stream", "floor": "/stream"}
REFETCH_PATH = "/api/v1/spacecraft?limit=500"
DRIVEN_FLEET = 200
"""Spacecraft the driver toggles in turn, so one craft's changes never overlap in time."""


@dataclass
class Scenario:
    name: str
    clients: int
    rate: float
    seconds: float
    server: str = "goofs"
    mode: str = "stream"
    stalled: int = 0
    env: dict[str, str] = field(default_factory=dict)
    """Server settings for this run only (GOOFS_...)."""
    midway: Callable[[], Awaitable[dict[str, Any]]] | None = None
    """Something done to the servers halfway through the changes (stop Redis, kill an
    instance); what it returns goes into the result as `midway`, and the result keeps each
    delivery's latency and event time, and each reconnection, under `timeline`."""


def percentiles_ms(values: np.ndarray[Any, Any]) -> dict[str, float]:
    if len(values) == 0:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "max": float("nan")}
    p50, p95, p99 = np.percentile(values, [50, 95, 99]) * 1000
    return {"p50": p50, "p95": p95, "p99": p99, "max": float(values.max()) * 1000}


class Harness:
    """Reader processes on the harness cores, started once and reused by every scenario."""

    def __init__(self, workdir: Path, workers: int = 4, companion: str = "none") -> None:
        self.workdir = workdir
        self.cores = servers.Cores.split()
        self.companions = companions.parse(companion)
        """Load beside every scenario on the real server (`bench.companions`)."""
        self.receiver: Receiver | None = None
        """The webhook receiver, started with the first scenario that needs it."""
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.processes: list[Any] = []
        for index in range(workers):
            parent, child = context.Pipe()
            # Each worker its own source address: 10,000 connections need not share one port range.
            process = context.Process(
                target=clients.run,
                args=(child, f"127.0.0.{index + 2}", self.cores.clients),
                daemon=True,
            )
            process.start()
            self.pipes.append(parent)
            self.processes.append(process)
        self.templates: dict[int, Path] = {}

    def close(self) -> None:
        if self.receiver is not None:
            self.receiver.close()
        for pipe in self.pipes:
            pipe.send(("exit", ()))
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()

    async def ask(self, command: str, args: Any, per_worker: list[Any] | None = None) -> list[Any]:
        """Send a command to every worker and gather the replies."""
        for index, pipe in enumerate(self.pipes):
            pipe.send((command, per_worker[index] if per_worker is not None else args))
        return list(await asyncio.gather(*(asyncio.to_thread(pipe.recv) for pipe in self.pipes)))

    async def fleet(self, size: int, malfunctioning_every: int = 0) -> Path:
        """A database with `size` spacecraft, created through the API once and copied per run."""
        if size in self.templates:
            return self.templates[size]
        path = self.workdir / f"fleet-{size}.db"
        with servers.running("goofs", self.workdir, self.cores) as server:
            pool = Pool(server.host, server.port, size=8, token=server.token)
            await _create_all(pool, [_spacecraft(i, malfunctioning_every) for i in range(size)])
            await pool.close()
            db_file = self.workdir / f"goofs-{server.port}.db"
        _move_database(db_file, path)
        self.templates[size] = path
        return path

    async def run(self, scenario: Scenario) -> dict[str, Any]:
        database = await self.fleet(DRIVEN_FLEET) if scenario.server == "goofs" else None
        probe = servers.core_speed_ms(self.cores.server)
        kinds = self.companions if scenario.server == "goofs" else ()
        if "webhooks" in kinds and self.receiver is None:
            self.receiver = Receiver(self.cores.clients)
        settings: dict[str, str] = {}
        for kind in kinds:
            settings |= companions.SERVER_SETTINGS.get(kind, {})
        with servers.running(
            scenario.server,
            self.workdir,
            self.cores,
            database,
            settings | scenario.env,
            admin="webhooks" in kinds,
        ) as server:
            beside = [companions.Companion(kind, server, self.receiver) for kind in kinds]
            for companion in beside:
                await companion.start()
            try:
                result = await self.run_on(server, scenario)
            finally:
                done = [await companion.stop() for companion in beside]
            return result | {"core_probe_ms": probe, "companions": done}

    async def run_on(self, server: servers.Server, scenario: Scenario) -> dict[str, Any]:
        """`scenario` against a running server (or anything that looks like one: the
        deployment bench passes nginx in front of its instances)."""
        pool = Pool(server.host, server.port, size=32, token=server.token)
        plan = await _change_plan(pool, scenario)
        target = clients.Target(server.host, server.port, STREAM_PATHS[server.kind], REFETCH_PATH)
        connect_started = time.monotonic()
        opened = await self._open(target, scenario.clients, scenario.mode)
        if scenario.stalled:
            await self._open(target, scenario.stalled, "stalled")
        connect_seconds = time.monotonic() - connect_started
        first = (await pool.request("GET", "/api/v1/events?limit=1")).json()["last_seq"]

        harness_cpu = sum(await self.ask("mark", ())) + _own_cpu()
        server_cpu = server.cpu_seconds()
        cores_before = psutil.cpu_times(percpu=True)
        started = time.monotonic()
        midway = asyncio.create_task(_halfway(scenario)) if scenario.midway else None
        driven = await drive(pool, plan, scenario.rate, max_seconds=scenario.seconds)
        done_midway = await midway if midway is not None else None
        last = (await pool.request("GET", "/api/v1/events?limit=1")).json()["last_seq"]
        # After a failure the servers may still be catching up: give them longer before an
        # event counts as lost, and say how long the last client took.
        await self.ask("wait", (last, 30.0 if scenario.midway else 10.0))
        ended = time.monotonic()
        drained = ended - (started + driven.seconds)
        wall = ended - started
        server_cpu = server.cpu_seconds() - server_cpu
        core_busy = _core_busy(cores_before, psutil.cpu_times(percpu=True))
        resumed = await self.ask("resume_stalled", (last, 30.0)) if scenario.stalled else []

        occurred = await _occurred_at(pool, first, last)
        replies = [r for r in await self.ask("results", (first, occurred.tobytes())) if r]
        harness_cpu = sum(r["cpu"] for r in replies) + _own_cpu() - harness_cpu
        await self.ask("close", ())
        await pool.close()
        peak_rss = server.peak_rss_mb()

        latencies = np.concatenate(
            [np.frombuffer(r["latencies"], dtype=np.float32) for r in replies]
        )
        received = sum(r["received"] for r in replies)
        events = last - first
        extra: dict[str, Any] = {}
        if done_midway is not None:
            offsets = np.concatenate([np.frombuffer(r["offsets"], dtype=np.int32) for r in replies])
            extra = {
                "midway": done_midway,
                "drain_s": drained,
                "timeline": {
                    "occurred_at": occurred[offsets] if len(offsets) else np.zeros(0),
                    "latencies": latencies.astype(np.float64),
                    "gaps": [gap for r in replies for gap in r["gaps"]],
                },
            }
        return extra | {
            "scenario": scenario.name,
            "server": scenario.server,
            "mode": scenario.mode,
            "clients": scenario.clients,
            "connected": opened,
            "stalled": scenario.stalled,
            "stalled_dropped": sum(r["dropped"] for r in resumed),
            "stalled_caught_up": sum(r["caught_up"] for r in resumed),
            "stalled_lost": sum(r["resumed_lost"] for r in replies),
            "stalled_duplicated": sum(r["resumed_duplicated"] for r in replies),
            "connect_seconds": connect_seconds,
            "rate": scenario.rate,
            "seconds": scenario.seconds,
            "events": events,
            "changes_per_s": driven.rate,
            "api_failed": driven.failed,
            "api_ms": percentiles_ms(driven.latencies),
            "delivery_ms": percentiles_ms(latencies.astype(np.float64)),
            "lost": sum(r["lost"] for r in replies),
            "missing": dict(
                sum((Counter(r["missing"]) for r in replies), Counter[int]()).most_common(20)
            ),
            "duplicated": sum(r["duplicated"] for r in replies),
            "out_of_order": sum(r["out_of_order"] for r in replies),
            "clients_with_loss": sum(r["clients_with_loss"] for r in replies),
            "reconnects": sum(r["reconnects"] for r in replies),
            "deliveries": received,
            "server_cpu_s": server_cpu,
            "deliveries_per_cpu_s": received / server_cpu if server_cpu else float("nan"),
            "peak_rss_mb": peak_rss,
            "longest_gc_pause_ms": server.longest_gc_pause_ms(started, ended),
            "bytes_per_event_per_client": (
                sum(r["bytes"] for r in replies) / received if received else float("nan")
            ),
            "wall_s": wall,
            "server_core_busy": core_busy[0],
            "harness_core_busy": core_busy[1],
            "harness_cpu_share": harness_cpu / (wall * max(1, len(self.cores.clients))),
        }

    async def _open(self, target: clients.Target, count: int, mode: str) -> int:
        shares = [
            count // len(self.pipes) + (i < count % len(self.pipes)) for i in range(len(self.pipes))
        ]
        timeout = 30.0 + count / 200
        replies = await self.ask(
            "open", None, per_worker=[(target, share, mode, timeout) for share in shares]
        )
        return sum(reply["opened"] for reply in replies)

    def cores_description(self) -> str:
        server, harness = sorted(self.cores.server), sorted(self.cores.clients)
        return f"server on core(s) {server}, harness on {harness}"


async def _halfway(scenario: Scenario) -> dict[str, Any]:
    assert scenario.midway is not None
    await asyncio.sleep(scenario.seconds / 2)
    return await scenario.midway()


async def write_path(harness: Harness, seconds: float, rate: float) -> dict[str, Any]:
    """Changes alone, no readers: the most the API sustains, then latency at a set rate."""
    database = await harness.fleet(DRIVEN_FLEET)
    probe = servers.core_speed_ms(harness.cores.server)
    with servers.running("goofs", harness.workdir, harness.cores, database) as server:
        return {"core_probe_ms": probe} | await write_path_on(server, seconds, rate)


async def write_path_on(server: servers.Server, seconds: float, rate: float) -> dict[str, Any]:
    """The write path against a running server (or nginx in front of several): 8 changes in
    flight for `seconds`, then `rate` changes a second for `seconds`."""
    pool = Pool(server.host, server.port, size=16, token=server.token)
    plan = await _change_plan(pool, Scenario("write", 0, rate, seconds), length=100_000)
    cpu = server.cpu_seconds()
    flat_out = await hammer(pool, plan, concurrency=8, max_seconds=seconds)
    cpu = server.cpu_seconds() - cpu
    # Carry on the same cycle where the flat-out run stopped, so every change is valid.
    paced = await drive(pool, plan[flat_out.requested :], rate, max_seconds=seconds)
    await pool.close()
    return {
        "max_changes_per_s": flat_out.rate,
        "max_succeeded": flat_out.succeeded,
        "max_failed": flat_out.failed,
        "max_api_ms": percentiles_ms(flat_out.latencies),
        "server_cpu_ms_per_change": cpu / flat_out.succeeded * 1000 if flat_out.succeeded else 0,
        "paced_rate": rate,
        "paced_changes_per_s": paced.rate,
        "paced_failed": paced.failed,
        "paced_api_ms": percentiles_ms(paced.latencies),
    }


async def board(harness: Harness, size: int, repeats: int) -> dict[str, Any]:
    """Reads of a big fleet: first page, a search, a status filter (time per request)."""
    seeding = time.monotonic()
    database = await harness.fleet(size, malfunctioning_every=10)
    seed_seconds = time.monotonic() - seeding
    queries = {
        "first page": "/api/v1/spacecraft?limit=50",
        "search": "/api/v1/spacecraft?q=0042&limit=50",
        "filter": "/api/v1/spacecraft?status=MALFUNCTIONING&limit=50",
        "page 100": "/api/v1/spacecraft?limit=50&offset=5000",
    }
    results: dict[str, Any] = {
        "spacecraft": size,
        "seed_seconds": seed_seconds,
        "core_probe_ms": servers.core_speed_ms(harness.cores.server),
    }
    with servers.running("goofs", harness.workdir, harness.cores, database) as server:
        pool = Pool(server.host, server.port, size=1, token=server.token)
        for name, path in queries.items():
            await pool.request("GET", path)
            timings = []
            for _ in range(repeats):
                started = time.perf_counter()
                response = await pool.request("GET", path)
                timings.append(time.perf_counter() - started)
                assert response.status == 200, response.body
            results[name] = percentiles_ms(np.array(timings)) | {"total": response.json()["total"]}
        await pool.close()
    return results


async def _change_plan(pool: Pool, scenario: Scenario, length: int = 0) -> list[tuple[str, str]]:
    count = length or int(scenario.rate * scenario.seconds) + 1
    if scenario.server == "floor":
        return [("POST", "/publish")] * count
    page = (await pool.request("GET", f"/api/v1/spacecraft?limit={DRIVEN_FLEET}")).json()
    ids = [item["id"] for item in page["items"]]
    plan = []
    for index in range(count):
        action = "malfunction" if (index // len(ids)) % 2 == 0 else "repair"
        plan.append(("POST", f"/api/v1/spacecraft/{ids[index % len(ids)]}/{action}"))
    return plan


async def _create_all(pool: Pool, bodies: list[Any]) -> None:
    queue = list(reversed(bodies))

    async def lane() -> None:
        while queue:
            body = queue.pop()
            response = await pool.request("POST", "/api/v1/spacecraft", body)
            assert response.status == 201, response.body

    await asyncio.gather(*(lane() for _ in range(8)))


def _spacecraft(index: int, malfunctioning_every: int) -> dict[str, Any]:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    broken = malfunctioning_every and index % malfunctioning_every == 0
    return {
        "name": f"Bench-{index:05d}",
        "cospar_id": f"{1957 + index // 999}-{index % 999 + 1:03d}{letters[index % 24]}",
        "status": "MALFUNCTIONING" if broken else "NOMINAL",
    }


async def _occurred_at(pool: Pool, first: int, last: int) -> np.ndarray[Any, Any]:
    """`occurred_at` (epoch seconds) of every event in (first, last], from the event log."""
    from datetime import datetime

    stamps = np.zeros(last - first)
    after = first
    while after < last:
        page = (await pool.request("GET", f"/api/v1/events?after={after}&limit=500")).json()
        if not page["items"]:
            break
        for item in page["items"]:
            if item["seq"] <= last:
                stamps[item["seq"] - first - 1] = datetime.fromisoformat(
                    item["occurred_at"]
                ).timestamp()
        after = page["items"][-1]["seq"]
    return stamps


def _move_database(source: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        if (part := Path(f"{source}{suffix}")).exists():
            part.rename(f"{target}{suffix}")


def _own_cpu() -> float:
    times = psutil.Process().cpu_times()
    return float(times.user + times.system)


def _core_busy(before: list[Any], after: list[Any]) -> tuple[float, float]:
    """Busy share of the first core and of the busiest other core between two snapshots."""
    shares = []
    for old, new in zip(before, after, strict=True):
        total = sum(new) - sum(old)
        idle = (new.idle + new.iowait) - (old.idle + old.iowait)
        shares.append(1 - idle / total if total else 0.0)
    return shares[0], max(shares[1:], default=shares[0])
