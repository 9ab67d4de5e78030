"""The web console (HTML). The live board arrives with its own issue; this is the front door."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from galactic_goofs.deps import AppState, ReadSession
from galactic_goofs.fleet import service

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


def register_formats(state: AppState) -> None:
    """Stream formats the console needs from the hub (none yet)."""


@router.get("/", response_class=HTMLResponse)
async def index(request: Request, session: ReadSession) -> HTMLResponse:
    summary = await service.summary(session)
    return templates.TemplateResponse(request, "index.html", {"summary": summary})
