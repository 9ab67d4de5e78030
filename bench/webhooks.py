"""`python -m bench.webhooks`: from an event's commit to a receiver's 2xx, through a real server.

A `goofs serve` on SQLite (the bench fleet, on its own core) with 10 webhook endpoints, all to
one fast loopback receiver (`bench.receiver`, in a process of its own on the harness cores).
The driver makes 50 changes a second (malfunctions, then repairs, through the API, as the main
bench's writers do) for 20 s. For each event and endpoint, latency is the first receipt minus
the event's `occurred_at` (stamped in the transaction that commits it). Target: p99 <= 500 ms,
and every event at every endpoint (none lost). Not part of `python -m bench`.

python -m bench.webhooks                               # the run the target is about
python -m bench.webhooks --seconds 2 --rate 10         # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench import servers
from bench.harness import (
    DRIVEN_FLEET,
    Harness,
    Scenario,
    _change_plan,
    _occurred_at,
    percentiles_ms,
)
from bench.http import Pool, drive
from bench.receiver import Arrivals, Receiver

TARGET_P99_MS = 500.0
SERVER_SETTINGS = {"GOOFS_WEBHOOK_ALLOW_PRIVATE": "true"}
"""The receiver is on loopback, which a deployment refuses unless told otherwise."""


async def add_endpoints(server: servers.Server, receiver: Receiver, count: int) -> list[str]:
    """`count` enabled endpoints for every event type, each its own path on the receiver; then a
    test ping to each, waited for, so dispatch is running before anything is measured."""
    pool = Pool(server.host, server.port, size=4, token=server.admin_token)
    ids = []
    for index in range(count):
        response = await pool.request(
            "POST",
            "/api/v1/webhooks",
            {
                "url": receiver.url(index),
                "events": ["*"],
                "format": "standard",
                "description": f"bench receiver {index}",
            },
        )
        assert response.status == 201, response.body
        ids.append(response.json()["id"])
    for endpoint in ids:
        response = await pool.request("POST", f"/api/v1/webhooks/{endpoint}/test")
        assert response.status in (200, 201, 202), response.body
    await pool.close()
    deadline = time.monotonic() + 30
    while len((await receiver.results()).seqs) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("the test pings did not arrive within 30 s: is dispatch running?")
        await asyncio.sleep(0.1)
    await receiver.clear()
    return ids


async def wait_for_all(
    receiver: Receiver, first: int, last: int, endpoints: int, grace: float
) -> None:
    """Until every (event, endpoint) pair in (first, last] has arrived, or `grace` seconds."""
    wanted = (last - first) * endpoints
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        arrivals = await receiver.results()
        seqs = np.frombuffer(arrivals.seqs, dtype=np.int64)
        pairs = set(
            zip(
                np.frombuffer(arrivals.endpoints, dtype=np.int64)[(seqs > first) & (seqs <= last)],
                seqs[(seqs > first) & (seqs <= last)],
                strict=True,
            )
        )
        if len(pairs) >= wanted:
            return
        await asyncio.sleep(0.2)


def measure(
    arrivals: Arrivals, first: int, last: int, endpoints: int, occurred: np.ndarray[Any, Any]
) -> dict[str, Any]:
    """Latency of each pair's first receipt; pairs never received; receipts beyond the first."""
    seqs = np.frombuffer(arrivals.seqs, dtype=np.int64)
    ends = np.frombuffer(arrivals.endpoints, dtype=np.int64)
    times = np.frombuffer(arrivals.times, dtype=np.float64)
    first_receipt: dict[tuple[int, int], float] = {}
    duplicated = 0
    for endpoint, seq, at in zip(ends, seqs, times, strict=True):
        if not first < seq <= last:
            continue
        key = (int(endpoint), int(seq))
        if key in first_receipt:
            duplicated += 1
            first_receipt[key] = min(first_receipt[key], float(at))
        else:
            first_receipt[key] = float(at)
    latencies = np.array(
        [at - occurred[seq - first - 1] for (_, seq), at in first_receipt.items()], dtype=np.float64
    )
    return {
        "events": last - first,
        "endpoints": endpoints,
        "expected": (last - first) * endpoints,
        "received": len(first_receipt),
        "lost": (last - first) * endpoints - len(first_receipt),
        "duplicated": duplicated,
        "latency_ms": percentiles_ms(latencies),
    }


async def stages(
    server: servers.Server, endpoint: str, first: int, occurred: np.ndarray[Any, Any]
) -> dict[str, dict[str, float]]:
    """Where the time goes, from one endpoint's delivery log: commit -> queued (the dispatching
    consumer's batch) and queued -> last attempt's end (the sender)."""
    pool = Pool(server.host, server.port, size=1, token=server.admin_token)
    queued, sent, posts = [], [], []
    offset = 0
    while True:
        page = (
            await pool.request(
                "GET", f"/api/v1/webhooks/{endpoint}/deliveries?limit=500&offset={offset}"
            )
        ).json()
        for item in page["items"]:
            seq = item["event_seq"]
            if seq is None or not 0 < seq - first <= len(occurred) or not item["delivered_at"]:
                continue
            created = datetime.fromisoformat(item["created_at"]).timestamp()
            delivered = datetime.fromisoformat(item["delivered_at"]).timestamp()
            queued.append(created - occurred[seq - first - 1])
            sent.append(delivered - created)
            posts.append(item["last_latency_ms"] / 1000)
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            break
    await pool.close()
    return {
        "queued_ms": percentiles_ms(np.array(queued)),
        "sent_ms": percentiles_ms(np.array(sent)),
        "post_ms": percentiles_ms(np.array(posts)),
    }


async def metric_lines(server: servers.Server) -> list[str]:
    pool = Pool(server.host, server.port, size=1, token=server.token)
    text = (await pool.request("GET", "/metrics")).body.decode()
    await pool.close()
    return [line for line in text.splitlines() if line.startswith("goofs_webhook")]


async def run(seconds: float, rate: float, endpoints: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="goofs-webhooks-bench-") as folder:
        workdir = Path(folder)
        harness = Harness(workdir, workers=0)
        servers.claim(harness.cores.clients)
        receiver = Receiver(harness.cores.clients)
        try:
            database = await harness.fleet(DRIVEN_FLEET)
            probe = servers.core_speed_ms(harness.cores.server)
            with servers.running(
                "goofs", workdir, harness.cores, database, SERVER_SETTINGS, admin=True
            ) as server:
                ids = await add_endpoints(server, receiver, endpoints)
                pool = Pool(server.host, server.port, size=32, token=server.token)
                plan = await _change_plan(pool, Scenario("webhooks", 0, rate, seconds))
                first = (await pool.request("GET", "/api/v1/events?limit=1")).json()["last_seq"]
                cpu = server.cpu_seconds()
                driven = await drive(pool, plan, rate, max_seconds=seconds)
                last = (await pool.request("GET", "/api/v1/events?limit=1")).json()["last_seq"]
                await wait_for_all(receiver, first, last, endpoints, grace=30.0)
                cpu = server.cpu_seconds() - cpu
                occurred = await _occurred_at(pool, first, last)
                await pool.close()
                breakdown = await stages(server, ids[0], first, occurred)
                result = measure(await receiver.results(), first, last, endpoints, occurred)
                result |= {
                    "core_probe_ms": probe,
                    "rate": rate,
                    "seconds": seconds,
                    "changes_per_s": driven.rate,
                    "api_failed": driven.failed,
                    "api_ms": percentiles_ms(driven.latencies),
                    "server_cpu_s": cpu,
                    "metrics": await metric_lines(server),
                    **breakdown,
                }
        finally:
            receiver.close()
            harness.close()
    return result


def report(result: dict[str, Any]) -> str:
    latency, api = result["latency_ms"], result["api_ms"]
    met = latency["p99"] <= TARGET_P99_MS and result["lost"] == 0
    return "\n".join(
        [
            f"{result['events']} events x {result['endpoints']} endpoints at "
            f"{result['changes_per_s']:.1f} changes/s (asked {result['rate']:g}/s for "
            f"{result['seconds']:g} s), core probe {result['core_probe_ms']:.0f} ms",
            f"commit -> receiver 2xx: p50 {latency['p50']:.1f}, p95 {latency['p95']:.1f}, "
            f"p99 {latency['p99']:.1f}, max {latency['max']:.1f} ms",
            f"of which commit -> queued p50 {result['queued_ms']['p50']:.1f}, p99 "
            f"{result['queued_ms']['p99']:.1f} ms; queued -> delivered p50 "
            f"{result['sent_ms']['p50']:.1f}, p99 {result['sent_ms']['p99']:.1f} ms, the POST "
            f"itself p50 {result['post_ms']['p50']:.1f}, p99 {result['post_ms']['p99']:.1f} ms "
            "(endpoint 0's log)",
            f"received {result['received']}/{result['expected']}, lost {result['lost']}, "
            f"duplicated {result['duplicated']}; API p50 {api['p50']:.1f} / p99 "
            f"{api['p99']:.1f} ms, {result['api_failed']} failed; server CPU "
            f"{result['server_cpu_s']:.1f} s",
            f"target p99 <= {TARGET_P99_MS:.0f} ms and nothing lost: {'met' if met else 'MISSED'}",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=50.0, help="changes per second")
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    result = asyncio.run(run(args.seconds, args.rate, args.endpoints))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=float))
    print(report(result))
    return 0 if result["latency_ms"]["p99"] <= TARGET_P99_MS and result["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
