"""The floor: a bare SSE broadcaster with no database and no logic, under the same server settings.

`POST /publish` makes one event (seq + 1, stamped now), encodes it once and hands the same bytes
to every client's queue; `GET /stream` writes whatever its queue holds. `GET /api/v1/events`
answers like the real API so the harness reads `occurred_at` the same way from both servers.
Whatever this costs per delivery is what a plain Python ASGI broadcaster (a queue and a
coroutine per client, one write per event) pays on this machine.

Its events are the ones the harness makes the real server write (malfunctions, then repairs,
of a 200-spacecraft fleet), built with the app's own schemas and SSE encoder, so both servers
send the same bytes per delivery and the ratio compares the work, not the frame sizes.
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

from galactic_goofs.anomalies.models import AnomalyState
from galactic_goofs.anomalies.schemas import AnomalyRead, AnomalySummary
from galactic_goofs.cli import COLLECTOR_THRESHOLDS, SERVER_OPTIONS, _raise_open_files_limit
from galactic_goofs.events.hub import encode_json
from galactic_goofs.events.schemas import EventRead, EventType
from galactic_goofs.fleet.faults import CATALOG
from galactic_goofs.fleet.models import Status
from galactic_goofs.fleet.schemas import Fault, SpacecraftRead

Scope = dict[str, Any]
Receive = Any
Send = Any

FLEET = 200
"""As `bench.harness.DRIVEN_FLEET`: each spacecraft malfunctions once, then each is repaired."""
CREATED_AT = datetime(2026, 1, 1, tzinfo=UTC)


class Floor:
    def __init__(self) -> None:
        self.queues: set[asyncio.Queue[bytes]] = set()
        self.log: list[EventRead] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
        elif scope["path"] == "/stream":
            await self.stream(send)
        elif scope["path"] == "/publish":
            await _json(send, await self.publish())
        elif scope["path"] == "/api/v1/events":
            after = int(parse_qs(scope["query_string"].decode()).get("after", ["0"])[0])
            page = [event.model_dump(mode="json") for event in self.log[after : after + 500]]
            await _json(send, {"items": page, "last_seq": len(self.log)})
        else:
            await _json(send, {"status": "ok"})

    async def publish(self) -> dict[str, Any]:
        event = _event(len(self.log) + 1)
        self.log.append(event)
        body = await encode_json(event)
        for queue in self.queues:
            queue.put_nowait(body)
        return {"seq": event.seq}

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


def _event(seq: int) -> EventRead:
    """The event the real server writes for the harness's change number `seq`."""
    index = seq - 1
    craft = index % FLEET
    now = datetime.now(UTC)
    template = CATALOG[craft % len(CATALOG)]
    fault = Fault(
        subsystem=template.subsystem,
        severity=template.severity,
        description=template.description,
        since=now,
    )
    broken = (index // FLEET) % 2 == 0
    # One anomaly a break, opened by the malfunction and resolved by its repair.
    anomaly = AnomalyRead(
        id=uuid.UUID(int=index // (2 * FLEET) * FLEET + craft),
        spacecraft_id=uuid.UUID(int=craft),
        subsystem=template.subsystem,
        severity=template.severity,
        description=template.description,
        state=AnomalyState.OPEN if broken else AnomalyState.RESOLVED,
        planned=False,
        opened_at=now,
        opened_by="bench",
        acknowledged_at=None,
        acknowledged_by=None,
        acknowledge_comment=None,
        assignee=None,
        shelved_until=None,
        shelve_reason=None,
        resolved_at=None if broken else now,
        resolved_by=None if broken else "bench",
        resolution=None,
    )
    snapshot = SpacecraftRead(
        id=uuid.UUID(int=craft),
        name=f"Bench-{craft:05d}",
        cospar_id=f"1957-{craft + 1:03d}A",
        status=Status.MALFUNCTIONING if broken else Status.NOMINAL,
        fault=fault if broken else None,
        anomaly=AnomalySummary(id=anomaly.id, state=anomaly.state, acknowledged_by=None)
        if broken
        else None,
        created_at=CREATED_AT,
        updated_at=now,
        version=index // FLEET + 2,
    )
    return EventRead(
        seq=seq,
        type=EventType.MALFUNCTIONED if broken else EventType.REPAIRED,
        spacecraft_id=snapshot.id,
        actor="bench",
        occurred_at=now,
        data={
            "spacecraft": snapshot.model_dump(mode="json"),
            "fault": fault.model_dump(mode="json"),
            "anomaly_id": str(anomaly.id),
            "anomaly": anomaly.model_dump(mode="json"),
            **({"planned": False} if broken else {}),
        },
    )


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
