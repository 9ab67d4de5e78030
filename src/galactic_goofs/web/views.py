"""The web console: a live fleet board. Routes translate HTTP to the fleet's service calls."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncSession

from galactic_goofs.anomalies import service as anomalies
from galactic_goofs.anomalies.schemas import (
    AcknowledgeRequest,
    AssignRequest,
    NoteCreate,
    ShelveRequest,
)
from galactic_goofs.auth.dependencies import MaybeSignedIn
from galactic_goofs.db import utcnow
from galactic_goofs.deps import Actor, ReadSession, StateDep
from galactic_goofs.errors import Conflict, DomainError, NotFound
from galactic_goofs.events import service as events
from galactic_goofs.events.schemas import EventRead
from galactic_goofs.events.stream import EventStream, parse_cursor
from galactic_goofs.events.stream_cap import CappedStream
from galactic_goofs.fleet import service
from galactic_goofs.fleet.models import Status
from galactic_goofs.fleet.schemas import (
    MalfunctionRequest,
    SpacecraftCreate,
    SpacecraftRead,
    SpacecraftUpdate,
)
from galactic_goofs.orbits import demo
from galactic_goofs.orbits import service as orbits
from galactic_goofs.state import AppState
from galactic_goofs.web import analytics as analytics_views
from galactic_goofs.web import forms, rendering
from galactic_goofs.web.stream import FORMAT, html_encoder

router = APIRouter(include_in_schema=False)
templates = rendering.templates

PAGE_SIZE = 50
TIMELINE_PAGE = 50
MAX_PAGE_NUMBER = 200_000
GONE = "This spacecraft is no longer in the fleet."
"""What a page's polled parts say once its spacecraft was deleted (and then they stop)."""
CONTACTS_BATCH = 20
"""Spacecraft a console may ask the next contact of at once (a cold cache takes tens of
milliseconds each)."""

Search = Annotated[str, Query(max_length=100)]
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE_NUMBER)]


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=rendering.HERE / "static"), name="static")


def register_formats(state: AppState) -> None:
    state.hub.add_format(FORMAT, html_encoder(state.db))


@dataclass(frozen=True, slots=True)
class BoardQuery:
    """What the board shows: a search, a status filter and a page, as in the address bar."""

    q: str
    status: Status | None
    page: int

    def url(self) -> str:
        params = {
            "q": self.q,
            "status": self.status.value if self.status else "",
            "page": str(self.page) if self.page > 1 else "",
        }
        query = urlencode({name: value for name, value in params.items() if value})
        return f"/?{query}" if query else "/"


async def board_query(  # async: a plain def dependency would run in a thread
    q: Search = "",
    # The filter's "all" option sends an empty value.
    status: Annotated[str | None, Query(pattern="^(|NOMINAL|MALFUNCTIONING)$")] = None,
    page: PageNumber = 1,
) -> BoardQuery:
    return BoardQuery(q, Status(status) if status else None, page)


Board = Annotated[BoardQuery, Depends(board_query)]


async def _board(session: AsyncSession, view: BoardQuery) -> dict[str, Any]:
    q, status_filter, page = view.q, view.status, view.page
    listing = await service.list_spacecraft(
        session,
        status=status_filter,
        search=q or None,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    pages = max(1, -(-listing.total // PAGE_SIZE))
    return {
        "listing": listing,
        "q": q,
        "status_filter": status_filter,
        "page": page,
        "pages": pages,
    }


async def _recent_events(session: AsyncSession, head: int) -> list[EventRead]:
    # Seqs are gap-free, so the newest FEED_SIZE events are exactly those after head - FEED_SIZE.
    after = max(0, head - rendering.FEED_SIZE)
    recent = await events.read_after(session, after, rendering.FEED_SIZE, upto=head)
    return list(reversed(recent))


async def _live_context(session: AsyncSession, view: BoardQuery) -> dict[str, Any]:
    # The seq first: anything committed after it reaches the page through the stream, and
    # replaying a change the page already shows is harmless (rows carry their version).
    seq = await events.last_seq(session)
    return {
        "seq": seq,
        "summary": await service.summary(session),
        "feed": await _recent_events(session, seq),
        "triage": await anomalies.triage(session),
        **await _board(session, view),
    }


@router.get("/", response_class=HTMLResponse)
async def index(
    request: Request,
    session: ReadSession,
    operator: MaybeSignedIn,
    view: Board,
) -> HTMLResponse:
    context = await _live_context(session, view)
    context["form"] = {"values": {}, "errors": {}}
    context["operator"] = operator
    return templates.TemplateResponse(request, "index.html", context)


@router.get("/map", response_class=HTMLResponse)
async def fleet_map(
    request: Request, session: ReadSession, state: StateDep, operator: MaybeSignedIn
) -> HTMLResponse:
    """The fleet where it is now; `map.js` moves it every few seconds from /api/v1/positions."""
    positions = await orbits.fleet_positions(session, state.orbits)
    context = {"positions": positions, "operator": operator}
    return templates.TemplateResponse(request, "map.html", context)


@router.post("/console/demo")
async def load_demo(state: StateDep, actor: Actor) -> RedirectResponse:
    """The demo fleet for a first run (a second press adds nothing); then the board again."""
    await state.writes.apply(demo.load, actor=actor, rng=state.rng, now=utcnow())
    return RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/console/board", response_class=HTMLResponse)
async def board(
    request: Request,
    session: ReadSession,
    view: Board,
) -> HTMLResponse:
    response = templates.TemplateResponse(request, "_board.html", await _board(session, view))
    # The address bar follows the board, so a reload or a shared link shows the same view.
    response.headers["HX-Replace-Url"] = view.url()
    return response


@router.get("/console/snapshot", response_class=HTMLResponse)
async def snapshot(
    request: Request,
    session: ReadSession,
    view: Board,
) -> HTMLResponse:
    """Summary, board and feed as of one seq: what a console that fell behind starts over from."""
    context = await _live_context(session, view)
    return templates.TemplateResponse(request, "_snapshot.html", context)


@router.get("/console/stream")
async def stream(
    state: StateDep,
    after: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    last_event_id: Annotated[str | None, Header(max_length=32)] = None,
) -> Response:
    cursor = parse_cursor(after, last_event_id)
    stream = EventStream(state.hub, state.db, FORMAT, cursor, state.settings.retry_ms)
    return CappedStream(stream, state.hub, state.settings.max_streams)


@router.post("/console/spacecraft", response_class=HTMLResponse)
async def create(request: Request, state: StateDep, actor: Actor) -> HTMLResponse:
    values = await _form_values(request, ("name", "cospar_id", "status"))
    parsed = forms.parse(SpacecraftCreate, values)
    if isinstance(parsed, forms.FormErrors):
        return _create_form(request, values, parsed, status.HTTP_422_UNPROCESSABLE_CONTENT)
    try:
        change = await state.writes.apply(service.create, parsed, actor=actor, rng=state.rng)
    except Conflict as error:
        return _create_form(request, values, forms.conflict_errors(error), error.status_code)
    # A fresh form for the next one; the new row arrives through the stream like everyone's.
    return _create_form(request, {}, {}, status.HTTP_200_OK, created=change.spacecraft)


@router.get("/console/spacecraft/{spacecraft_id}/row", response_class=HTMLResponse)
async def row(request: Request, spacecraft_id: uuid.UUID, session: ReadSession) -> HTMLResponse:
    craft = await service.get(session, spacecraft_id)
    return templates.TemplateResponse(request, "_row.html", {"craft": craft})


@router.get("/console/spacecraft/{spacecraft_id}/edit", response_class=HTMLResponse)
async def edit_form(
    request: Request, spacecraft_id: uuid.UUID, session: ReadSession
) -> HTMLResponse:
    craft = await service.get(session, spacecraft_id)
    values = {"name": craft.name, "cospar_id": craft.cospar_id, "version": str(craft.version)}
    return _edit_row(request, craft, values, {}, status.HTTP_200_OK)


@router.post("/console/spacecraft/{spacecraft_id}/edit", response_class=HTMLResponse)
async def edit(
    request: Request,
    spacecraft_id: uuid.UUID,
    session: ReadSession,
    state: StateDep,
    actor: Actor,
) -> HTMLResponse:
    values = await _form_values(request, ("name", "cospar_id", "version"))
    parsed = forms.parse(SpacecraftUpdate, values)
    if isinstance(parsed, forms.FormErrors):
        craft = await service.get(session, spacecraft_id)
        return _edit_row(request, craft, values, parsed, status.HTTP_422_UNPROCESSABLE_CONTENT)
    try:
        change = await state.writes.apply(service.update, spacecraft_id, parsed, actor=actor)
    except Conflict as error:
        craft = await service.get(session, spacecraft_id)
        return _edit_row(request, craft, values, forms.conflict_errors(error), error.status_code)
    return templates.TemplateResponse(request, "_row.html", {"craft": change.spacecraft})


@router.post("/console/spacecraft/{spacecraft_id}/malfunction", status_code=204)
async def malfunction(spacecraft_id: uuid.UUID, state: StateDep, actor: Actor) -> Response:
    await state.writes.apply(
        service.malfunction, spacecraft_id, MalfunctionRequest(), actor=actor, rng=state.rng
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/console/spacecraft/{spacecraft_id}/repair", status_code=204)
async def repair(spacecraft_id: uuid.UUID, state: StateDep, actor: Actor) -> Response:
    await state.writes.apply(service.repair, spacecraft_id, actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/console/spacecraft/{spacecraft_id}", status_code=204)
async def delete(spacecraft_id: uuid.UUID, state: StateDep, actor: Actor) -> Response:
    await state.writes.apply(service.delete, spacecraft_id, actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/spacecraft/{spacecraft_id}", response_class=HTMLResponse)
async def spacecraft_page(
    request: Request,
    spacecraft_id: uuid.UUID,
    session: ReadSession,
    state: StateDep,
    operator: MaybeSignedIn,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> HTMLResponse:
    """One spacecraft: its details, where it is, its open anomaly with notes, its timeline."""
    seq = await events.last_seq(session)  # first, as on the board: later changes stream in
    craft = await service.get(session, spacecraft_id)
    open_anomaly = await anomalies.triage(session, limit=1, spacecraft_id=spacecraft_id)
    notes = await anomalies.notes(session, open_anomaly[0].anomaly.id) if open_anomaly else []
    timeline = await events.read_before(
        session, (before or seq + 1), TIMELINE_PAGE + 1, spacecraft_id=spacecraft_id
    )
    older = timeline[TIMELINE_PAGE].seq + 1 if len(timeline) > TIMELINE_PAGE else None
    context = {
        "seq": seq,
        "craft": craft,
        "triage": open_anomaly,
        "notes": notes,
        "timeline": timeline[:TIMELINE_PAGE],
        "older": older,
        "paged": before is not None,
        "operator": operator,
        "bars": await analytics_views.spacecraft_bars(session, spacecraft_id),
        **await _orbit_context(session, state, spacecraft_id),
    }
    return templates.TemplateResponse(request, "spacecraft.html", context)


async def _orbit_context(
    session: AsyncSession, state: AppState, spacecraft_id: uuid.UUID
) -> dict[str, Any]:
    """Its orbit, where it is now, and its contacts if found lately (else the page asks for
    them after it loads: finding them takes longer than the rest of the page)."""
    now = utcnow()
    try:
        orbit = await orbits.get_orbit(session, spacecraft_id)
    except Conflict:
        return {"orbit": None, "now": now}
    found = await orbits.contacts(
        session, state.contacts, [spacecraft_id], state.settings.stations, now, find=False
    )
    return {
        "orbit": orbit,
        "now": now,
        "contacts": found.get(spacecraft_id),
        "contacts_known": spacecraft_id in found,
        **await _position_context(session, spacecraft_id, now),
    }


async def _position_context(
    session: AsyncSession, spacecraft_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    try:
        return {"position": await orbits.position(session, spacecraft_id, now), "lost": None}
    except Conflict as error:  # no orbit (any more), or elements that no longer propagate
        return {"position": None, "lost": error.message}


@router.get("/console/spacecraft/{spacecraft_id}/position", response_class=HTMLResponse)
async def orbit_now(
    request: Request, spacecraft_id: uuid.UUID, session: ReadSession
) -> HTMLResponse:
    """Where it is now: the spacecraft page polls this every few seconds (until it is gone)."""
    try:
        where = await _position_context(session, spacecraft_id, utcnow())
    except NotFound:
        where = {"position": None, "lost": GONE, "gone": True}
    context = {"craft_id": spacecraft_id, **where}
    return templates.TemplateResponse(request, "_orbit_now.html", context)


@router.get("/console/spacecraft/{spacecraft_id}/contacts", response_class=HTMLResponse)
async def contacts_table(
    request: Request, spacecraft_id: uuid.UUID, session: ReadSession, state: StateDep
) -> HTMLResponse:
    """The next contact at each ground station, found now if not lately."""
    try:
        craft = await service.get(session, spacecraft_id)
    except NotFound:
        return HTMLResponse(f'<div id="contacts" class="contacts"><p>{GONE}</p></div>')
    now = utcnow()
    found = await orbits.contacts(
        session, state.contacts, [spacecraft_id], state.settings.stations, now
    )
    context = {
        "craft": craft,
        "now": now,
        "contacts": found.get(spacecraft_id),
        "contacts_known": True,
    }
    return templates.TemplateResponse(request, "_contacts.html", context)


@router.get("/console/contacts", response_class=HTMLResponse)
async def next_contacts(
    request: Request,
    session: ReadSession,
    state: StateDep,
    spacecraft: Annotated[list[uuid.UUID], Query(min_length=1, max_length=CONTACTS_BATCH)],
) -> HTMLResponse:
    """'Next contact in 12 min' for the spacecraft of the triage items a console shows (it
    asks only for those, a few at a time)."""
    now = utcnow()
    found = await orbits.contacts(session, state.contacts, spacecraft, state.settings.stations, now)
    context = {"found": found, "now": now}
    return templates.TemplateResponse(request, "_next_contacts.html", context)


@router.get("/console/anomalies/{anomaly_id}/forms", response_class=HTMLResponse)
async def triage_forms(
    request: Request, anomaly_id: uuid.UUID, session: ReadSession
) -> HTMLResponse:
    """A triage item's assign, shelve and note forms, fetched when its disclosure opens."""
    anomaly = await anomalies.get(session, anomaly_id)
    return templates.TemplateResponse(request, "_triage_forms.html", {"anomaly": anomaly})


@router.post("/console/anomalies/{anomaly_id}/acknowledge", status_code=204)
async def acknowledge(anomaly_id: uuid.UUID, state: StateDep, actor: Actor) -> Response:
    await state.writes.apply(anomalies.acknowledge, anomaly_id, AcknowledgeRequest(), actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/console/anomalies/{anomaly_id}/unshelve", status_code=204)
async def unshelve(anomaly_id: uuid.UUID, state: StateDep, actor: Actor) -> Response:
    await state.writes.apply(anomalies.unshelve, anomaly_id, actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/console/anomalies/{anomaly_id}/assign", response_class=HTMLResponse)
async def assign(
    request: Request, anomaly_id: uuid.UUID, state: StateDep, actor: Actor
) -> Response:
    values = await _form_values(request, ("assignee",))
    assignee = values.get("assignee", "").strip()
    parsed = (
        forms.parse(AssignRequest, {"assignee": assignee})
        if assignee
        else AssignRequest(assignee=None)
    )
    return await _inline(state, parsed, anomalies.assign, anomaly_id, actor)


@router.post("/console/anomalies/{anomaly_id}/shelve", response_class=HTMLResponse)
async def shelve(
    request: Request, anomaly_id: uuid.UUID, state: StateDep, actor: Actor
) -> Response:
    values = await _form_values(request, ("minutes", "reason"))
    parsed = forms.parse(ShelveRequest, values)
    return await _inline(state, parsed, anomalies.shelve, anomaly_id, actor)


@router.post("/console/anomalies/{anomaly_id}/notes", response_class=HTMLResponse)
async def add_note(
    request: Request, anomaly_id: uuid.UUID, state: StateDep, actor: Actor
) -> Response:
    values = await _form_values(request, ("text",))
    parsed = forms.parse(NoteCreate, values)
    return await _inline(state, parsed, anomalies.add_note, anomaly_id, actor)


async def _inline(
    state: AppState,
    parsed: Any,
    change: Any,
    anomaly_id: uuid.UUID,
    actor: str,
) -> Response:
    """An inline triage form's answer: nothing (the stream shows the change), or why not,
    as text for the form's own message slot."""
    if isinstance(parsed, forms.FormErrors):
        message = "; ".join(parsed.values())
        return HTMLResponse(escape(message), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    try:
        await state.writes.apply(change, anomaly_id, parsed, actor=actor)
    except DomainError as error:
        if error.status_code == status.HTTP_404_NOT_FOUND:
            raise
        return HTMLResponse(escape(error.message), status_code=error.status_code)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _form_values(request: Request, fields: tuple[str, ...]) -> dict[str, str]:
    """The fields a form may send, as typed; an empty optional field counts as not sent."""
    form = await request.form()
    values = {}
    for field in fields:
        value = form.get(field)
        if isinstance(value, str) and (value or field == "name"):
            values[field] = value
    return values


def _create_form(
    request: Request,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int,
    created: SpacecraftRead | None = None,
) -> HTMLResponse:
    context = {"form": {"values": values, "errors": errors}, "created": created}
    return templates.TemplateResponse(
        request, "_create_form.html", context, status_code=status_code
    )


def _edit_row(
    request: Request,
    craft: SpacecraftRead,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int,
) -> HTMLResponse:
    context = {"craft": craft, "form": {"values": values, "errors": errors}}
    return templates.TemplateResponse(request, "_edit_row.html", context, status_code=status_code)
