"""`python -m bench`: the fan-out and write-path benchmark, with the floor and the old design.

python -m bench                      # the full run (several minutes), report under docs/
python -m bench --scale 0.01 --seconds 1 --out /some/dir   # a tiny smoke run
python -m bench --only 1,2,5 --companion webhooks   # the stream while webhooks are dispatched
python -m bench --only 1,2,5 --companion webhooks,analytics,map   # all three at once
python -m bench --deployment         # PostgreSQL + Redis + 2 instances behind nginx (minutes)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import deployment, report
from bench.harness import Harness, Scenario, board, write_path
from bench.servers import claim

ROOT = Path(__file__).resolve().parent.parent


def scenarios(scale: float, seconds: float | None) -> list[tuple[str, Scenario]]:
    """(target, scenario) pairs; `scale` shrinks client counts, `seconds` caps each run."""

    def make(name: str, clients: int, rate: float, duration: float, **extra: Any) -> Scenario:
        return Scenario(
            name, max(2, int(clients * scale)), rate, min(duration, seconds or duration), **extra
        )

    runs = [
        ("1", make("1k clients, 20 changes/s", 1000, 20, 30)),
        ("5", make("1k clients, 20 changes/s (floor)", 1000, 20, 30, server="floor")),
        # One pair moves by 10% or more with the machine's speed: two more pairs, interleaved,
        # and the report gives the median ratio.
        *(
            ("5", make(f"1k clients, 20 changes/s #{pair}{suffix}", 1000, 20, 30, server=server))
            for pair in (2, 3)
            for server, suffix in (("goofs", ""), ("floor", " (floor)"))
        ),
        ("2", make("5k clients, 5 changes/s", 5000, 5, 30)),
        ("5", make("5k clients, 5 changes/s (floor)", 5000, 5, 30, server="floor")),
        ("3", make("10k clients, 1 change/s", 10_000, 1, 30)),
        ("4", make("burst: 1k clients, 300 changes/s", 1000, 300, 10)),
        # The default queue (1,024 frames) takes 51 s to fill at 20 changes/s; a shorter one
        # gives the drop a chance within the run, once the kernel's socket buffers are full.
        (
            "8",
            make(
                "1k clients + 100 stalled, 20 changes/s, 32-frame queue",
                1000,
                20,
                30,
                stalled=100,
                env={"GOOFS_STREAM_QUEUE_SIZE": "32"},
            ),
        ),
        ("refetch", make("refetch design: 100 clients, 1 change/s", 100, 1, 20, mode="refetch")),
    ]
    for clients in (100, 1000, 2500, 5000, 10_000):
        for server in ("goofs", "floor"):
            runs.append(
                ("sweep", make(f"sweep {clients} ({server})", clients, 5, 10, server=server))
            )
    return runs


async def main(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="goofs-bench-") as workdir:
        harness = Harness(Path(workdir), workers=args.workers, companion=args.companion)
        # The driver runs in this process: keep it off the server's core too.
        claim(harness.cores.clients)
        results: dict[str, Any] = {
            "machine": machine(harness),
            "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "companion": args.companion,
            "runs": [],
        }
        try:
            if args.deployment:
                results |= await deployment.run(harness, scale=args.scale, seconds=args.seconds)
                return results
            wanted = set(args.only.split(",")) if args.only else None
            for target, scenario in scenarios(args.scale, args.seconds):
                if wanted and target not in wanted:
                    continue
                logging.info("running %s", scenario.name)
                result = await harness.run(scenario)
                result["target"] = target
                results["runs"].append(result)
                logging.info("%s", report.one_line(result))
            if not wanted or "6" in wanted:
                results["write_path"] = await write_path(
                    harness, seconds=args.seconds or 10, rate=200
                )
                logging.info("write path: %s", results["write_path"])
            if not wanted or "7" in wanted:
                size = max(100, int(10_000 * args.scale))
                results["board"] = await board(harness, size, repeats=50 if args.scale >= 1 else 5)
                logging.info("board: %s", results["board"])
        finally:
            harness.close()
    return results


def machine(harness: Harness) -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "cpu": cpu,
        "cores": harness.cores_description(),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply client counts")
    parser.add_argument("--seconds", type=float, default=None, help="cap each run's duration")
    parser.add_argument("--only", help="comma-separated targets, e.g. 1,4,refetch,sweep")
    parser.add_argument("--workers", type=int, default=4, help="reader processes")
    parser.add_argument(
        "--companion",
        default="none",
        help="load beside every scenario on the real server: 10 webhook endpoints, 50 "
        "browsers on /analytics or 50 on /map, or several joined by commas "
        "(see bench/companions.py)",
    )
    parser.add_argument(
        "--deployment",
        action="store_true",
        help="instead of the embedded default: PostgreSQL + Redis + 2 instances behind nginx "
        "(bench/deployment.py); writes bench-deployment.md and .json, and deployment.png",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="report directory")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    results = asyncio.run(main(args))
    args.out.mkdir(parents=True, exist_ok=True)
    name = "bench-deployment" if args.deployment else "bench-results"
    (args.out / f"{name}.json").write_text(json.dumps(results, indent=2, default=float))
    (args.out / f"{name}.md").write_text(report.markdown(results))
    if args.deployment:
        report.plot_deployment(results, args.out / "deployment.png")
    elif any(run["target"] == "sweep" for run in results["runs"]):
        report.plot(results, args.out / "performance.png")
    print(report.markdown(results))


if __name__ == "__main__":
    cli()
