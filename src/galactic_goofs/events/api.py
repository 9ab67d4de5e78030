"""Reading the event log: a page at a time, or as a live SSE stream."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response

from galactic_goofs.deps import ReadSession, StateDep
from galactic_goofs.events import service
from galactic_goofs.events.schemas import EventPage, EventType
from galactic_goofs.events.stream import MAX_SEQ, EventStream, parse_cursor
from galactic_goofs.events.stream_cap import CappedStream

router = APIRouter(prefix="/api/v1/events", tags=["events"])

INSTANCE_HEADER = "X-Goofs-Instance"
"""Which process serves a stream (`AppState.tag`)."""

Seq = Annotated[int, Query(ge=0, le=MAX_SEQ, description="Only events with a greater seq")]


@router.get("")
async def list_events(
    session: ReadSession,
    after: Seq = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    spacecraft_id: uuid.UUID | None = None,
    type: Annotated[list[EventType] | None, Query()] = None,
) -> EventPage:
    head = await service.last_seq(session)
    items = await service.read_after(
        session, after, limit, upto=head, spacecraft_id=spacecraft_id, types=type or ()
    )
    return EventPage(items=items, last_seq=head)


@router.get(
    "/stream",
    response_class=Response,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "`id: <seq>`, `event: <type>`, `data: <event JSON>`; "
            "`event: reset` when the cursor is older than the retained log.",
            "headers": {
                INSTANCE_HEADER: {
                    "description": "Names the process serving the stream (random per process)",
                    "schema": {"type": "string"},
                }
            },
        },
        400: {"description": "Last-Event-ID is not a seq"},
        503: {"description": "This instance serves its maximum number of streams"},
    },
)
async def stream_events(
    state: StateDep,
    after: Seq | None = None,
    last_event_id: Annotated[str | None, Header(max_length=32)] = None,
) -> Response:
    cursor = parse_cursor(after, last_event_id)
    stream = EventStream(state.hub, state.db, "json", cursor, state.settings.retry_ms)
    stream.headers[INSTANCE_HEADER] = state.tag
    return CappedStream(stream, state.hub, state.settings.max_streams)
