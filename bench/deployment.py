"""`python -m bench --deployment`: the configuration teams scale into, measured like the default.

Two `goofs serve` instances on one PostgreSQL database and a private `redis-server`, behind nginx
with the deployment's own proxy settings (`devkit.nginx`, `deploy/goofs-proxy.conf`); the stream
clients, the change driver, the metrics and the report are the embedded default's
(`bench.harness`, `bench.clients`, `bench.report`). Scenarios:

- (a) the write path, 8 in flight: SQLite and PostgreSQL + Redis on one instance (the same
  shape, for the ratio of the targets) in interleaved pairs, then the two instances through
  nginx;
- (b) 1,000 stream clients through nginx, spread over both instances, 20 changes/s;
- (c) the same with Redis stopped halfway and started again `REDIS_DOWN` seconds later;
- (d) the same with one instance killed (SIGKILL) halfway: its clients reconnect through nginx;
- a sweep: 100 to 2,000 stream clients at 20 changes/s through nginx, to one instance and to
  two, for the plot of delivery latency against clients (`report.plot_deployment`).

Both instances share the server core (the machine has two; the harness and nginx have the
other), so this measures what an instance costs, not how far more cores go. PostgreSQL is the
machine's own server (unpinned; its backends' CPU for the bench database is counted apart).
Each scenario gets a fresh copy of one fleet database (`CREATE DATABASE ... TEMPLATE`), dropped
at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import psutil
import redis.asyncio as redis

from bench import report, servers
from bench.harness import (
    DRIVEN_FLEET,
    Harness,
    Scenario,
    _create_all,
    _spacecraft,
    percentiles_ms,
    write_path,
    write_path_on,
)
from bench.http import Pool
from devkit import postgres
from devkit.nginx import nginx, nginx_binary
from devkit.postgres import unique_name
from devkit.redis_server import RedisServer, redis_server_binary

INSTANCES = 2
REDIS_DOWN = 2.0
"""Seconds Redis stays stopped in scenario (c), a restart rather than an outage (a quarter of
a shorter run, so that changes still follow its return)."""
P99_GOAL = 0.100
"""The latency target the Redis scenario measures its recovery against (seconds)."""
WINDOW = 0.5
"""Seconds of events per p99 in the recovery timeline."""
SWEEP_CLIENTS = (100, 300, 1000, 2000)
"""Stream clients in the sweep (before `scale`)."""
SWEEP_INSTANCES = (1, INSTANCES)
SWEEP_RATE = 20
SWEEP_SECONDS = 10
"""Changes per run of the sweep, at most: long enough for a p99 of 200 events."""


@dataclass
class Front:
    """nginx in front of the instances, which the harness drives as if it were one server:
    CPU is the instances' sum (a killed one counts up to its last reading), memory and
    collector pauses their worst."""

    port: int
    instances: list[servers.Server]
    token: str | None
    channel: str
    """Their Redis channel."""
    kind: str = "goofs"
    host: str = "127.0.0.1"
    _cpu: dict[int, float] = field(default_factory=dict)
    _rss: dict[int, float] = field(default_factory=dict)

    def cpu_seconds(self) -> float:
        for instance in self.instances:
            with contextlib.suppress(psutil.Error, OSError):
                self._cpu[instance.port] = instance.cpu_seconds()
        return sum(self._cpu.values())

    def peak_rss_mb(self) -> float:
        for instance in self.instances:
            with contextlib.suppress(OSError):
                self._rss[instance.port] = instance.peak_rss_mb()
        return max(self._rss.values(), default=float("nan"))

    def longest_gc_pause_ms(self, since: float, until: float) -> float:
        return max(instance.longest_gc_pause_ms(since, until) for instance in self.instances)

    def connections(self) -> list[int]:
        """Established connections to each live instance (nginx's, for streams and API)."""
        counts = []
        for instance in self.instances:
            try:
                sockets = psutil.Process(instance.process.pid).net_connections("tcp")
            except psutil.Error:
                counts.append(0)
                continue
            counts.append(
                sum(
                    1
                    for sock in sockets
                    if sock.status == psutil.CONN_ESTABLISHED and sock.laddr.port == instance.port
                )
            )
        return counts


class Services:
    """The bench's PostgreSQL fleet template and its private Redis, for the whole run."""

    def __init__(self, workdir: Path) -> None:
        binary = redis_server_binary()
        if binary is None:
            raise RuntimeError("redis-server is not installed (`make redis-server`)")
        self.nginx = nginx_binary()
        if self.nginx is None:
            raise RuntimeError("nginx is not installed (`make nginx`)")
        self.workdir = workdir
        self.redis = RedisServer(binary, workdir)
        self.template: str | None = None
        self.databases: list[str] = []

    async def start(self, harness: Harness) -> None:
        self.redis.start()
        url = await postgres.create_database("goofs_bench_fleet")
        self.databases.append(url)
        # The fleet is made through the API once, as for SQLite, then copied per scenario.
        with servers.running("goofs", self.workdir, harness.cores, settings=self.env(url)) as app:
            pool = Pool(app.host, app.port, size=8, token=app.token)
            await _create_all(pool, [_spacecraft(i, 0) for i in range(DRIVEN_FLEET)])
            await pool.close()
        self.template = url.rpartition("/")[2]

    async def database(self) -> str:
        """A fresh copy of the fleet database."""
        url = await postgres.create_database("goofs_bench", template=self.template)
        self.databases.append(url)
        return url

    def env(self, database_url: str) -> dict[str, str]:
        return {
            "GOOFS_DATABASE_URL": database_url,
            "GOOFS_BROKER_URL": self.redis.url,
            "GOOFS_REDIS_CHANNEL": unique_name("goofs_bench_events"),
        }

    async def close(self) -> None:
        self.redis.stop()
        for url in reversed(self.databases):
            with contextlib.suppress(OSError, asyncpg.PostgresError):
                await postgres.drop_database(url)

    @contextlib.contextmanager
    def deployment(self, harness: Harness, database_url: str, count: int) -> Iterator[Front]:
        """`count` instances (one channel of their own) behind nginx, every one subscribed."""
        env = self.env(database_url)
        assert self.nginx is not None
        with contextlib.ExitStack() as stack:
            started = [
                stack.enter_context(
                    servers.running("goofs", self.workdir, harness.cores, settings=env)
                )
                for _ in range(count)
            ]
            where = self.workdir / unique_name("nginx")
            where.mkdir()
            proxy = stack.enter_context(
                nginx(
                    self.nginx,
                    [f"{instance.host}:{instance.port}" for instance in started],
                    where,
                    # Two per stream, for the sweep's 2,000 streams and the driver's pool,
                    # with room.
                    connections=8 * 1024,
                    cores=harness.cores.clients,
                )
            )
            port = int(proxy.rpartition(":")[2])
            yield Front(port, started, started[0].token, env["GOOFS_REDIS_CHANNEL"])


async def subscribed(redis_url: str, channel: str, count: int, within: float = 30) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            [(_, numbers)] = await client.pubsub_numsub(channel)
            if int(numbers) >= count:
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{count} instances did not subscribe to Redis within {within} s")
    finally:
        await client.aclose()


async def postgres_cpu(database_url: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving `database_url` now, by pid."""
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
    finally:
        await connection.close()
    seconds = {}
    for row in rows:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(row["pid"]).cpu_times()
            seconds[row["pid"]] = float(times.user + times.system)
    return seconds


PAIRS = 3
"""Scenario (a)'s interleaved SQLite and PostgreSQL runs: this machine's speed drifts by half
within minutes, so one run of each can put their ratio anywhere from 1.0 to 1.5."""


async def write_paths(
    harness: Harness, services: Services, seconds: float, rate: float, pairs: int = PAIRS
) -> dict[str, Any]:
    """Scenario (a): SQLite and PostgreSQL + Redis on one instance, `pairs` times, alternating
    which goes first, then the two instances behind nginx. `sqlite` and `postgres` are the pair
    whose CPU ratio is the median, which the targets judge; `pairs` holds them all."""
    runs = []
    for index in range(pairs):
        pair: dict[str, Any] = {}
        for name in ("sqlite", "postgres") if index % 2 == 0 else ("postgres", "sqlite"):
            if name == "sqlite":
                pair[name] = await write_path(harness, seconds=seconds, rate=rate)
            else:
                pair[name] = await _on_postgresql(harness, services, 1, seconds, rate)
            logging.info("write path, %s: %s", name, pair[name])
        runs.append(pair)
    median = sorted(runs, key=lambda pair: report.write_ratios(pair)[0])[len(runs) // 2]
    nginx = await _on_postgresql(harness, services, INSTANCES, seconds, rate)
    logging.info("write path, postgres_nginx: %s", nginx)
    return median | {"postgres_nginx": nginx, "pairs": runs}


async def _on_postgresql(
    harness: Harness, services: Services, count: int, seconds: float, rate: float
) -> dict[str, Any]:
    """The write path on a fresh database: one instance, or `count` behind nginx."""
    url = await services.database()
    probe = servers.core_speed_ms(harness.cores.server)
    if count == 1:
        server_context: Any = servers.running(
            "goofs", services.workdir, harness.cores, None, services.env(url)
        )
    else:
        server_context = services.deployment(harness, url, count)
    with server_context as server:
        before = await postgres_cpu(url)
        started = time.monotonic()
        measured = await write_path_on(server, seconds, rate)
        # The backends' CPU over both halves (flat out, then paced), per change made.
        after = await postgres_cpu(url)
        spent = sum(after[pid] - before.get(pid, 0.0) for pid in after)
        changes = measured["max_succeeded"] + measured["paced_changes_per_s"] * min(
            seconds, time.monotonic() - started
        )
    return (
        {"core_probe_ms": probe, "instances": count}
        | measured
        | {"postgres_cpu_ms_per_change": spent / changes * 1000 if changes else 0.0}
    )


async def stream_scenarios(
    harness: Harness, services: Services, clients: int, seconds: float, targets: str = "bcd"
) -> list[dict[str, Any]]:
    """Scenarios (b), (c) and (d) (those in `targets`), each on a fresh database and fresh
    instances."""
    runs = []
    for target, name in (
        ("b", f"{clients:,} clients via nginx, 2 instances, 20 changes/s"),
        ("c", f"{clients:,} clients via nginx, Redis restarted halfway"),
        ("d", f"{clients:,} clients via nginx, one instance killed halfway"),
    ):
        if target not in targets:
            continue
        url = await services.database()
        probe = servers.core_speed_ms(harness.cores.server)
        with services.deployment(harness, url, INSTANCES) as front:
            await subscribed(services.redis.url, front.channel, INSTANCES)
            midway = {"b": _count, "c": _restart_redis, "d": _kill_one}[target]
            scenario = Scenario(name, clients, 20, seconds)

            async def act(front: Front = front, midway: Any = midway) -> dict[str, Any]:
                return await midway(front, services, seconds)

            scenario.midway = act
            logging.info("running %s", name)
            result = await harness.run_on(front, scenario)  # type: ignore[arg-type]
        result |= {"target": target, "core_probe_ms": probe, "companions": []}
        result |= _summarize(target, result.pop("timeline"), result["midway"])
        runs.append(result)
    return runs


async def sweep(
    harness: Harness,
    services: Services,
    clients: list[int],
    seconds: float,
) -> list[dict[str, Any]]:
    """Delivery latency against stream clients, through nginx to one instance and to two, each
    run on a fresh database and fresh instances. One instance also goes through nginx, so the
    two differ only in the instances behind it; the counts alternate between the two, so a
    spell of a slow machine falls on both alike."""
    runs = []
    for index, count in enumerate(clients):
        for instances in SWEEP_INSTANCES[:: 1 if index % 2 == 0 else -1]:
            url = await services.database()
            probe = servers.core_speed_ms(harness.cores.server)
            name = f"sweep {count:,} clients, {instances} instance{'s' * (instances > 1)}"
            with services.deployment(harness, url, instances) as front:
                await subscribed(services.redis.url, front.channel, instances)
                scenario = Scenario(name, count, SWEEP_RATE, seconds)

                async def act(front: Front = front) -> dict[str, Any]:
                    return await _count(front, services, seconds)

                scenario.midway = act
                logging.info("running %s", name)
                result = await harness.run_on(front, scenario)  # type: ignore[arg-type]
            result.pop("timeline")
            result |= {
                "target": "sweep",
                "instances": instances,
                "core_probe_ms": probe,
                "companions": [],
                "connections_per_instance": result["midway"]["connections"],
                "server_cpu_share": result["server_cpu_s"] / result["wall_s"],
            }
            runs.append(result)
    return runs


async def _count(front: Front, services: Services, seconds: float) -> dict[str, Any]:
    return {"connections": front.connections()}


async def _restart_redis(front: Front, services: Services, seconds: float) -> dict[str, Any]:
    connections = front.connections()
    stopped = time.time()
    await asyncio.to_thread(services.redis.stop)
    await asyncio.sleep(min(REDIS_DOWN, seconds / 4))
    await asyncio.to_thread(services.redis.start)
    return {"connections": connections, "redis_stopped_at": stopped, "redis_back_at": time.time()}


async def _kill_one(front: Front, services: Services, seconds: float) -> dict[str, Any]:
    connections = front.connections()
    victim = front.instances[0]
    front.cpu_seconds()  # its CPU up to now counts
    killed = time.time()
    victim.process.kill()
    await asyncio.to_thread(victim.process.wait)
    return {"connections": connections, "killed_at": killed, "killed_port": victim.port}


def _summarize(target: str, timeline: dict[str, Any], midway: dict[str, Any]) -> dict[str, Any]:
    """What (c) and (d) are judged by, from each delivery's time and each reconnection."""
    summary: dict[str, Any] = {"connections_per_instance": midway["connections"]}
    occurred, latencies = timeline["occurred_at"], timeline["latencies"]

    def p99_ms(since: float, until: float) -> float:
        return percentiles_ms(latencies[(occurred >= since) & (occurred < until)])["p99"]

    if target == "c":
        stopped, back = midway["redis_stopped_at"], midway["redis_back_at"]
        # The same p99 over plain stretches: before the stop, the 5 s after, and the rest.
        summary["p99_before_ms"] = p99_ms(0, stopped)
        summary["p99_5s_after_ms"] = p99_ms(back, back + 5)
        summary["p99_later_ms"] = p99_ms(back + 5, np.inf)
        windows = _p99_windows(occurred, latencies, since=stopped - 2 * WINDOW)
        summary["p99_timeline"] = windows
        during = (occurred >= stopped) & (occurred < back)
        summary["redis_down_ms"] = percentiles_ms(latencies[during])
        # Back under the goal: the first window after Redis returned from which every later
        # window stays under it.
        recovered = None
        for start, p99 in windows:
            if start + WINDOW <= back:
                continue
            if p99 > P99_GOAL * 1000:
                recovered = None
            elif recovered is None:
                recovered = start
        summary["p99_recovered_s"] = (
            max(0.0, recovered - back) if recovered is not None else float("nan")
        )
    if target == "d":
        killed = midway["killed_at"]
        summary["p99_before_ms"] = p99_ms(0, killed)
        summary["p99_5s_after_ms"] = p99_ms(killed, killed + 5)
        summary["p99_later_ms"] = p99_ms(killed + 5, np.inf)
        gaps = [(dropped, resumed) for dropped, resumed in timeline["gaps"] if dropped >= killed]
        waits = np.array([resumed - killed for _, resumed in gaps])
        summary["dropped_clients"] = len(gaps)
        summary["not_resumed"] = int(np.count_nonzero(np.isnan(waits)))
        summary["resumed_ms"] = percentiles_ms(waits[~np.isnan(waits)])
    return summary


def _p99_windows(
    occurred: np.ndarray[Any, Any], latencies: np.ndarray[Any, Any], since: float
) -> list[tuple[float, float]]:
    """(window start, p99 in ms) for events by their time, `WINDOW` seconds each."""
    if not len(occurred):
        return []
    windows = []
    start = since
    end = float(occurred.max())
    while start <= end:
        inside = latencies[(occurred >= start) & (occurred < start + WINDOW)]
        if len(inside):
            windows.append((start, float(np.percentile(inside, 99)) * 1000))
        start += WINDOW
    return windows


async def run(
    harness: Harness,
    *,
    scale: float,
    seconds: float | None,
    sweep_clients: tuple[int, ...] = SWEEP_CLIENTS,
    pairs: int = PAIRS,
) -> dict[str, Any]:
    """Everything above, for `python -m bench --deployment`."""
    services = Services(harness.workdir)
    try:
        await services.start(harness)
        write = await write_paths(
            harness, services, seconds=min(seconds or 10, 10), rate=200, pairs=pairs
        )
        clients = max(2, int(1000 * scale))
        runs = await stream_scenarios(harness, services, clients, min(seconds or 30, 30))
        counts = sorted({max(2, int(count * scale)) for count in sweep_clients})
        runs += await sweep(harness, services, counts, min(seconds or SWEEP_SECONDS, SWEEP_SECONDS))
    finally:
        await services.close()
    return {"deployment_write_path": write, "runs": runs}
