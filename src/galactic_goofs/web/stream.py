"""The console's stream format: each event becomes one SSE frame of HTML fragments.

Fragments are swapped by element id in the browser: the spacecraft's row (or its removal), the
fleet summary, a feed line, and for an anomaly's change its triage item (or its removal) and
any new note. They are rendered once per event per instance from the same
templates as the page, with one query for the summary counts, and shared by every console.
"""

from __future__ import annotations

from galactic_goofs.anomalies.schemas import AnomalyRead, NoteRead
from galactic_goofs.db import Database
from galactic_goofs.events.hub import Encoder
from galactic_goofs.events.schemas import EventRead, EventType
from galactic_goofs.events.sse import frame
from galactic_goofs.fleet import service
from galactic_goofs.web import rendering

FORMAT = "html"
FRAME_EVENT = "fragments"


def html_encoder(db: Database) -> Encoder:
    async def encode(event: EventRead) -> bytes:
        async with db.reading() as session:
            counts = await service.summary(session)
        return frame(fragments(event, rendering.summary(counts)), event=FRAME_EVENT, id=event.seq)

    return encode


def fragments(event: EventRead, summary_html: str) -> str:
    parts = []
    name = ""
    # Absent only for a note on the anomaly of a spacecraft deleted since: no row to show.
    if "spacecraft" in event.data:
        craft = rendering.snapshot(event)
        name = craft.name
        if event.type is EventType.DELETED:
            parts.append(rendering.render("_removed_row.html", craft=craft))
        else:
            parts.append(rendering.row(craft))
    parts += (summary_html, rendering.feed_line(event))
    if event.data.get("anomaly"):
        parts.append(rendering.triage_item(AnomalyRead.model_validate(event.data["anomaly"]), name))
    if event.data.get("note"):
        parts.append(rendering.note(NoteRead.model_validate(event.data["note"])))
    return "\n".join(parts)
