"""The console's stream format: each event becomes one SSE frame of HTML fragments.

Fragments are swapped by element id in the browser: the spacecraft's row (or its removal), the
fleet summary and a feed line. They are rendered once per event per instance from the same
templates as the page, with one query for the summary counts, and shared by every console.
"""

from __future__ import annotations

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
    if "spacecraft" not in event.data:
        # A note on the anomaly of a spacecraft deleted since: no row to show.
        return "\n".join((summary_html, rendering.feed_line(event)))
    craft = rendering.snapshot(event)
    if event.type is EventType.DELETED:
        changed = rendering.render("_removed_row.html", craft=craft)
    else:
        changed = rendering.row(craft)
    return "\n".join((changed, summary_html, rendering.feed_line(event)))
