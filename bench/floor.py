"""The floor: a bare SSE broadcaster with no database and no logic, under the same server settings.

`POST /publish` makes one event (seq + 1, stamped now), encodes it once and hands the same bytes
to every client's queue; `GET /stream` writes whatever its queue holds. `GET /api/v1/events`
answers like the real API so the harness reads `occurred_at` the same way from both servers.
Whatever this costs per delivery is what any Python ASGI broadcaster on this machine pays.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import uvicorn

from galactic_goofs.cli import COLLECTOR_THRESHOLDS, SERVER_OPTIONS, _raise_open_files_limit

Scope = dict[str, Any]
Receive = Any
Send = Any

SPACECRAFT_ID = str(uuid.UUID(int=42))


class Floor:
    def __init__(self) -> None:
        self.queues: set[asyncio.Queue[bytes]] = set()
        self.log: list[dict[str, Any]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
        elif scope["path"] == "/stream":
            await self.stream(send)
        elif scope["path"] == "/publish":
            await _json(send, self.publish())
        elif scope["path"] == "/api/v1/events":
            after = int(parse_qs(scope["query_string"].decode()).get("after", ["0"])[0])
            page = [event for event in self.log if event["seq"] > after][:500]
            await _json(send, {"items": page, "last_seq": len(self.log)})
        else:
            await _json(send, {"status": "ok"})

    def publish(self) -> dict[str, Any]:
        seq = len(self.log) + 1
        event = _event(seq)
        self.log.append(event)
        data = json.dumps(event, separators=(",", ":"))
        body = f"id: {seq}\nevent: {event['type']}\ndata: {data}\n\n".encode()
        for queue in self.queues:
            queue.put_nowait(body)
        return {"seq": seq}

    async def stream(self, send: Send) -> None:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.queues.add(queue)
        try:
            headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send(
                {"type": "http.response.body", "body": b"retry: 2000\n\n", "more_body": True}
            )
            while True:
                body = await queue.get()
                await send({"type": "http.response.body", "body": body, "more_body": True})
        finally:
            self.queues.discard(queue)


def _event(seq: int) -> dict[str, Any]:
    """The same shape and size as a real malfunction event, so both servers send alike bytes."""
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {
        "seq": seq,
        "type": "spacecraft.malfunctioned",
        "spacecraft_id": SPACECRAFT_ID,
        "actor": "operator",
        "occurred_at": now,
        "data": {
            "id": SPACECRAFT_ID,
            "name": "Bench-0042",
            "cospar_id": "1957-042A",
            "status": "MALFUNCTIONING",
            "fault": {
                "subsystem": "comms",
                "severity": "major",
                "description": "The high-gain antenna is pointing at a very interesting rock.",
                "since": now,
            },
            "version": seq,
        },
    }


async def _json(send: Send, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    _raise_open_files_limit()
    # The same process tuning as `goofs serve`, so the ratio measures the code, not the knobs.
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
    uvicorn.run(
        Floor(),
        host="127.0.0.1",
        port=args.port,
        log_level="info",
        lifespan="on",
        **SERVER_OPTIONS,
    )


if __name__ == "__main__":
    main()
