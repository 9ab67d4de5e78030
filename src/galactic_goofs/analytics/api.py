"""JSON API and CSV export for fleet analytics."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from galactic_goofs.analytics import service
from galactic_goofs.analytics.schemas import (
    MAX_BUCKETS,
    FleetAnalytics,
    SpacecraftAvailability,
    SpacecraftRow,
    Window,
)
from galactic_goofs.deps import ReadSession, StateDep

router = APIRouter(prefix="/api/v1", tags=["analytics"])

WindowQuery = Annotated[Window, Query(description="How far back from now: 24h, 7d or 30d")]
CSV_FIELDS = list(SpacecraftRow.model_fields)
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@router.get("/analytics/fleet")
async def fleet_analytics(
    state: StateDep, session: ReadSession, window: WindowQuery = Window.WEEK
) -> FleetAnalytics:
    return await service.fleet(session, window, state.analytics)


@router.get(
    "/spacecraft/{spacecraft_id}/availability",
    responses={404: {"description": "No spacecraft with that id"}},
)
async def spacecraft_availability(
    spacecraft_id: uuid.UUID,
    state: StateDep,
    session: ReadSession,
    window: WindowQuery = Window.MONTH,
    buckets: Annotated[int, Query(ge=1, le=MAX_BUCKETS, description="Uptime bars")] = 30,
) -> SpacecraftAvailability:
    return await service.spacecraft(session, spacecraft_id, window, buckets, state.analytics)


@router.get(
    "/analytics/spacecraft.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "One row per spacecraft"}},
)
async def spacecraft_csv(session: ReadSession, window: WindowQuery = Window.MONTH) -> Response:
    rows = await service.spacecraft_rows(session, window)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _cell(value) for key, value in row.model_dump(mode="json").items()})
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="spacecraft-availability-{window}.csv"'
        },
    )


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
