"""Companion load: what else a deployment does while the stream is measured (`--companion`).

- `webhooks`: 10 enabled endpoints, every event type, all to one fast loopback receiver
  (`bench.receiver`), so dispatch runs throughout the scenario.
- `analytics`: 50 browsers with `/analytics` open. Each loads the page and what it links
  (stylesheets, scripts), holds the console stream (`/console/stream?after=<the feed's seq>`,
  as console.js opens it), and does what console.js does for the charts: re-fetches
  `/console/analytics/charts` 3 to 6 s after an event (each page its own random wait), once
  for all the events of that wait.
- `map`: 50 browsers with `/map` open. Each loads the page, its stylesheets and scripts and the
  land (map.js draws it once), then polls `/api/v1/positions` every 5 s (map.js's REFRESH_MS).

Browser clients run in the driver's process, on the harness cores; the receiver in its own.
Only the real server gets a companion: the floor has no webhooks, analytics or map.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

from bench.http import Pool
from bench.receiver import Receiver
from bench.servers import Server

KINDS = ("none", "webhooks", "analytics", "map")
ENDPOINTS = 10
BROWSERS = 50
CHARTS_DELAY = 3.0
"""`SUMMARY_EVERY_MS` in static/console.js: a page waits between it and twice it."""
MAP_REFRESH = 5.0
"""`REFRESH_MS` in static/map.js."""
ANALYTICS_ASSETS = (
    "/static/vendor/pico.min.css",
    "/static/console.css",
    "/static/vendor/htmx.min.js",
    "/static/console.js",
)
MAP_ASSETS = (
    "/static/vendor/pico.min.css",
    "/static/console.css",
    "/static/vendor/topojson-client.min.js",
    "/static/map.js",
    "/static/vendor/land-110m.json",
)
FEED_SEQ = re.compile(rb'id="feed"[^>]*data-seq="(\d+)"')
FRAME = b"event: fragments"


def parse(option: str) -> tuple[str, ...]:
    """`--companion`: one kind, several joined by commas (all at once), or `none`."""
    kinds = tuple(dict.fromkeys(kind.strip() for kind in option.split(",") if kind.strip()))
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        raise ValueError(f"unknown companion {', '.join(unknown)}: choose from {KINDS}")
    return tuple(kind for kind in kinds if kind != "none")


SERVER_SETTINGS = {"webhooks": {"GOOFS_WEBHOOK_ALLOW_PRIVATE": "true"}}
"""Server settings a companion needs: the receiver is on loopback."""


@dataclass
class Tally:
    """What the companion did during one scenario."""

    requests: int = 0
    failed: int = 0
    frames: int = 0
    streams: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        streams = {"streams": self.streams, "frames": self.frames} if self.streams else {}
        return {"requests": self.requests, "failed": self.failed} | streams | self.extra


class Companion:
    """Started before a scenario's readers connect, stopped after its checks."""

    def __init__(self, kind: str, server: Server, receiver: Receiver | None) -> None:
        self.kind = kind
        self.server = server
        self.receiver = receiver
        self.tally = Tally()
        self.tasks: list[asyncio.Task[None]] = []
        self.pool = Pool(server.host, server.port, size=16)
        self.stopping = asyncio.Event()

    async def start(self) -> None:
        if self.kind == "webhooks":
            await self._webhooks()
        elif self.kind == "analytics":
            self.tasks = [asyncio.create_task(self._analytics()) for _ in range(BROWSERS)]
        elif self.kind == "map":
            self.tasks = [asyncio.create_task(self._map()) for _ in range(BROWSERS)]
        if self.kind in ("analytics", "map"):
            deadline = time.monotonic() + 60
            while self.tally.streams + self.tally.extra.get("maps", 0) < BROWSERS:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.kind}: the browsers did not load within 60 s")
                await asyncio.sleep(0.05)

    async def stop(self) -> dict[str, Any]:
        self.stopping.set()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.pool.close()
        if self.kind == "webhooks" and self.receiver is not None:
            received = len((await self.receiver.results()).seqs)
            return {"kind": self.kind, "endpoints": ENDPOINTS, "webhooks_received": received}
        if self.kind == "none":
            return {"kind": self.kind}
        return {"kind": self.kind} | self.tally.summary()

    async def _get(self, path: str) -> bytes:
        self.tally.requests += 1
        try:
            response = await self.pool.request("GET", path)
        except (OSError, asyncio.IncompleteReadError):
            self.tally.failed += 1
            return b""
        if response.status != 200:
            self.tally.failed += 1
        return response.body

    async def _webhooks(self) -> None:
        assert self.receiver is not None, "the harness starts the receiver for this companion"
        await self.receiver.clear()
        admin = Pool(self.server.host, self.server.port, size=2, token=self.server.admin_token)
        for index in range(ENDPOINTS):
            response = await admin.request(
                "POST",
                "/api/v1/webhooks",
                {
                    "url": self.receiver.url(index),
                    "events": ["*"],
                    "format": "standard",
                    "description": f"bench companion {index}",
                },
            )
            assert response.status == 201, response.body
        await admin.close()
        self.tally.extra["endpoints"] = ENDPOINTS

    async def _analytics(self) -> None:
        page = await self._get("/analytics")
        for asset in ANALYTICS_ASSETS:
            await self._get(asset)
        match = FEED_SEQ.search(page)
        after = int(match.group(1)) if match else 0
        charts_due: asyncio.TimerHandle | None = None
        loop = asyncio.get_running_loop()
        refetches: set[asyncio.Task[bytes]] = set()

        def refetch() -> None:
            nonlocal charts_due
            charts_due = None
            task = asyncio.create_task(self._get("/console/analytics/charts"))
            refetches.add(task)
            task.add_done_callback(refetches.discard)
            self.tally.extra["chart_refetches"] = self.tally.extra.get("chart_refetches", 0) + 1

        reader, writer = await asyncio.open_connection(self.server.host, self.server.port)
        try:
            writer.write(
                f"GET /console/stream?after={after} HTTP/1.1\r\nHost: bench\r\n"
                "Accept: text/event-stream\r\n\r\n".encode()
            )
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                self.tally.failed += 1
                return
            self.tally.streams += 1
            carry = b""
            while data := await reader.read(65536):
                chunk = carry + data
                frames = chunk.count(FRAME)
                carry = chunk[-len(FRAME) + 1 :]
                if frames:
                    self.tally.frames += frames
                    if charts_due is None:
                        charts_due = loop.call_later(CHARTS_DELAY * (1 + random.random()), refetch)
        finally:
            if charts_due is not None:
                charts_due.cancel()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            await asyncio.gather(*refetches, return_exceptions=True)

    async def _map(self) -> None:
        await self._get("/map")
        for asset in MAP_ASSETS:
            await self._get(asset)
        self.tally.extra["maps"] = self.tally.extra.get("maps", 0) + 1
        # Browsers opened at different moments: their 5-second timers are not in step.
        await asyncio.sleep(random.uniform(0, MAP_REFRESH))
        while not self.stopping.is_set():
            await self._get("/api/v1/positions")
            self.tally.extra["position_polls"] = self.tally.extra.get("position_polls", 0) + 1
            await asyncio.sleep(MAP_REFRESH)
