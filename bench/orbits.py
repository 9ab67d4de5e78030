"""`python -m bench.orbits`: the fleet in space at scale, on SQLite, through a real `goofs serve`.

- the positions of 10,000 spacecraft (`GET /api/v1/positions`, one vectorised sgp4 call):
  target <= 200 ms;
- the `/map` page with 1,000 spacecraft drawn: target <= 100 ms;
- a spacecraft's page (its position, ground track and cached contacts beside a timeline of
  1,000 events) in that fleet: target <= 30 ms, as issue 14 asks of every spacecraft page. Its
  contacts, found with Skyfield when not cached, come after the page in a fragment of their
  own, timed too (the first, uncached, and then cached).

Each fleet is loaded as an operator would (`goofs import`, then `goofs import-tle`). The server
runs on its own core, ahead of other work where allowed, as `bench.triage` runs it. Not part of
`python -m bench`. Prints the median and the worst of a few requests each.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.import_fleet import satcat
from bench.servers import Cores, claim, serving
from galactic_goofs.orbits.elements import checksum

REQUESTS = 15
TIMELINE_CYCLES = 500
GOOFS = [sys.executable, "-m", "galactic_goofs.cli"]


def _line(text: str) -> str:
    return text + str(checksum(text))


def tle_sets(count: int) -> str:
    """A low orbit for each of SATCAT rows 1..count (NORAD numbers), planes spread around."""
    sets = []
    for number in range(1, count + 1):
        node, anomaly = (number * 37) % 360, (number * 131) % 360
        sets.append(f"OBJECT {number - 1}")
        sets.append(
            _line(f"1 {number:05d}U 20001A   26330.50000000  .00001000  00000-0  10000-3 0  999")
        )
        elements = f"53.0000 {node:8.4f} 0001000  90.0000 {anomaly:8.4f} 15.0600000010000"
        sets.append(_line(f"2 {number:05d}  {elements}"))
    return "\n".join(sets) + "\n"


def _env(folder: Path) -> dict[str, str]:
    return {
        **os.environ,
        "GOOFS_DATABASE_URL": f"sqlite:///{folder}/goofs.db",
        "GOOFS_MALFUNCTION_INTERVAL": "0",
    }


def operator_token(folder: Path) -> str:
    """An API token of a new operator, to change the fleet with."""
    env = _env(folder)
    run = {"env": env, "cwd": folder, "check": True, "capture_output": True, "text": True}
    subprocess.run([*GOOFS, "user", "add", "bench"], input="bench password\n", **run)  # type: ignore[call-overload]
    created = subprocess.run([*GOOFS, "token", "create", "--user", "bench"], **run)  # type: ignore[call-overload]
    return str(created.stdout.split()[-1])


@contextmanager
def fleet_server(folder: Path, count: int, cores: Cores) -> Iterator[str]:
    env = _env(folder)
    (folder / "satcat.csv").write_text(satcat(count))
    (folder / "orbits.tle").write_text(tle_sets(count))
    for command in (["import", "satcat.csv"], ["import-tle", "orbits.tle"]):
        subprocess.run([*GOOFS, *command], env=env, cwd=folder, check=True, capture_output=True)
    with serving(env, folder, cores.server) as url:
        yield url


def timed(url: str, path: str, expect: int) -> list[float]:
    times = []
    with httpx.Client(base_url=url, timeout=30) as client:
        client.get(path)  # the first parses every element set into the cache
        for _ in range(REQUESTS):
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text[:200]
    if path == "/api/v1/positions":
        assert len(response.json()["items"]) == expect
    return times


def report(what: str, times: list[float], target: float) -> bool:
    median = statistics.median(times)
    verdict = "met" if median <= target else "MISSED"
    print(
        f"{what}: median {median:.0f} ms, worst {max(times):.0f} ms "
        f"(target <= {target:.0f} ms: {verdict})"
    )
    return median <= target


def spacecraft_page(url: str, token: str) -> bool:
    """The page of a spacecraft with an orbit and a long timeline, and its contacts."""
    with httpx.Client(base_url=url, timeout=30) as client:
        craft = client.get("/api/v1/spacecraft", params={"limit": 1}).json()["items"][0]
        writer = {"Authorization": f"Bearer {token}"}
        for _ in range(TIMELINE_CYCLES):
            for change in ("malfunction", "repair"):
                changed = client.post(
                    f"/api/v1/spacecraft/{craft['id']}/{change}", json={}, headers=writer
                )
                assert changed.status_code == 200, changed.text[:200]
        started = time.perf_counter()
        first = client.get(f"/console/spacecraft/{craft['id']}/contacts")
        uncached = (time.perf_counter() - started) * 1000
        assert first.status_code == 200 and "<table" in first.text, first.text[:200]
    print(f"contacts fragment, not cached: {uncached:.0f} ms")
    contacts = timed(url, f"/console/spacecraft/{craft['id']}/contacts", 0)
    print(f"contacts fragment, cached: median {statistics.median(contacts):.0f} ms")
    return report(
        f"spacecraft page ({2 * TIMELINE_CYCLES:,} events)",
        timed(url, f"/spacecraft/{craft['id']}", 0),
        30,
    )


def main() -> int:
    met = True
    cores = Cores.split()
    claim(cores.clients)
    for count, path, target in ((10_000, "/api/v1/positions", 200), (1_000, "/map", 100)):
        with (
            tempfile.TemporaryDirectory(prefix="goofs-orbits-bench-") as folder,
            fleet_server(Path(folder), count, cores) as url,
        ):
            met &= report(f"{path} with {count:,} spacecraft", timed(url, path, count), target)
            if count == 1_000:
                met &= spacecraft_page(url, operator_token(Path(folder)))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
