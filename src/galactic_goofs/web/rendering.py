"""The console's Jinja environment and the pieces of HTML shared by the page and the stream."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates

from galactic_goofs.anomalies.schemas import AnomalyRead, NoteRead
from galactic_goofs.auth.csrf import install_template_helpers
from galactic_goofs.events.schemas import EventRead, EventType
from galactic_goofs.fleet.schemas import FleetSummary, SpacecraftRead

HERE = Path(__file__).parent


def console_templates(directory: Path | None = None) -> Jinja2Templates:
    """A Jinja environment for console pages: `directory`'s templates first, then the console's
    own (the page layout `_page.html` every page extends), with the CSRF helpers and the time
    filters."""
    shared = HERE / "templates"
    found = Jinja2Templates(directory=[directory, shared] if directory else shared)
    # Fragments travel in every stream frame: no indentation or blank lines left by the tags.
    found.env.trim_blocks = True
    found.env.lstrip_blocks = True
    # Templates ship with the code and change with it, on a restart: no look at each file's
    # modification time on every include (two hundred on a board with its triage queue).
    found.env.auto_reload = False
    install_template_helpers(found)
    found.env.filters["iso"] = iso
    found.env.filters["clock"] = clock
    return found


FEED_SIZE = 50
"""Feed lines a console shows: the newest on load, then live ones pushed on top."""

VERBS = {
    EventType.CREATED: "registered",
    EventType.UPDATED: "edited",
    EventType.MALFUNCTIONED: "broke",
    EventType.REPAIRED: "fixed",
    EventType.DELETED: "deleted",
    EventType.ORBIT_UPDATED: "gave new orbital elements to",
    EventType.MAINTENANCE_STARTED: "began maintenance on",
    EventType.MAINTENANCE_ENDED: "ended maintenance on",
    EventType.ACKNOWLEDGED: "acknowledged the anomaly on",
    EventType.ASSIGNED: "assigned the anomaly on",
    EventType.NOTED: "added a note on",
    EventType.SHELVED: "shelved the anomaly on",
    EventType.UNSHELVED: "unshelved the anomaly on",
}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def clock(moment: datetime) -> str:
    """What a page without JavaScript shows; the console turns it into 'n minutes ago'."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def hour(moment: datetime, now: datetime) -> str:
    """A time of day in UTC, with the day when it is not today's: for a column of times."""
    return moment.strftime("%H:%M:%S" if moment.date() == now.date() else "%d %b %H:%M:%S")


def until(moment: datetime, now: datetime) -> str:
    """'in 12 min' (the console keeps it counting down)."""
    minutes = math.floor((moment - now).total_seconds() / 60)
    if minutes < 1:
        return "in under a minute"
    if minutes < 120:
        return f"in {minutes} min"
    return f"in {minutes // 60} h {minutes % 60:02d} min"


def latitude(degrees: float) -> str:
    return f"{abs(degrees):.2f}° {'N' if degrees >= 0 else 'S'}"


def longitude(degrees: float) -> str:
    return f"{abs(degrees):.2f}° {'E' if degrees >= 0 else 'W'}"


templates = console_templates()
templates.env.filters["latitude"] = latitude
templates.env.filters["longitude"] = longitude
templates.env.globals["until"] = until
templates.env.globals["hour"] = hour
templates.env.globals["contact_refresh"] = timedelta(minutes=5)
"""When a console asks again about a spacecraft without an orbit or a contact in a day."""
templates.env.globals["verbs"] = VERBS


def snapshot(event: EventRead) -> SpacecraftRead:
    """The spacecraft as the event left it (for a deletion: as it was just before)."""
    return SpacecraftRead.model_validate(event.data["spacecraft"])


def render(name: str, **context: Any) -> str:
    return templates.get_template(name).render(**context)


def row(craft: SpacecraftRead) -> str:
    return render("_row.html", craft=craft)


def summary(counts: FleetSummary) -> str:
    return render("_summary.html", summary=counts)


def feed_line(event: EventRead) -> str:
    return render("_feed_line.html", event=event)


def triage_item(anomaly: AnomalyRead, craft_name: str) -> str:
    """The anomaly in the triage queue, or (resolved) its removal from it."""
    if anomaly.resolved_at is not None:
        return render("_removed_anomaly.html", anomaly_id=anomaly.id)
    return render("_triage_item.html", anomaly=anomaly, craft_name=craft_name)


def note(read: NoteRead) -> str:
    return render("_note.html", note=read)
