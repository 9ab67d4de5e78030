"""An anomaly's busy moments: opened by a malfunction, acknowledged, resolved by its repair.

All three are precompiled statement paths (`galactic_goofs.precompiled`), so each step here is
one precompiled statement too: the insert of the new anomaly, the read of one by its key, and
the updates that acknowledge and resolve it by its key, each given the row it rewrites
(`expected`) and returning that row as rewritten.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, inspect, select, update

from galactic_goofs.anomalies.models import Anomaly, AnomalyState
from galactic_goofs.anomalies.schemas import AnomalyRead
from galactic_goofs.errors import NotFound
from galactic_goofs.fleet.faults import FaultTemplate
from galactic_goofs.precompiled import Statement, Writer, rewritten

_COLUMNS = inspect(Anomaly).columns
_OPEN = Statement(insert(Anomaly), column_keys=[column.key for column in _COLUMNS])
_RESOLVE = Statement(
    update(Anomaly).where(Anomaly.id == bindparam("anomaly_id")),
    column_keys=["state", "resolved_at", "resolved_by", "resolution"],
)
_ROW = Statement(select(*_COLUMNS).where(Anomaly.id == bindparam("anomaly_id")))
_ACKNOWLEDGE = Statement(
    update(Anomaly).where(Anomaly.id == bindparam("anomaly_id")),
    column_keys=["state", "acknowledged_at", "acknowledged_by", "acknowledge_comment"],
)


def open_anomaly(
    run: Writer,
    anomaly_id: uuid.UUID,
    spacecraft_id: uuid.UUID,
    fault: FaultTemplate,
    *,
    actor: str,
    now: datetime,
    planned: bool,
) -> AnomalyRead:
    anomaly = AnomalyRead(
        id=anomaly_id,
        spacecraft_id=spacecraft_id,
        subsystem=fault.subsystem,
        severity=fault.severity,
        description=fault.description,
        state=AnomalyState.OPEN,
        planned=planned,
        opened_at=now,
        opened_by=actor,
        acknowledged_at=None,
        acknowledged_by=None,
        acknowledge_comment=None,
        assignee=None,
        shelved_until=None,
        shelve_reason=None,
        resolved_at=None,
        resolved_by=None,
        resolution=None,
    )
    run(_OPEN, dict(anomaly))
    return anomaly


def resolve(
    run: Writer,
    anomaly_id: uuid.UUID,
    *,
    actor: str,
    now: datetime,
    resolution: str | None,
) -> AnomalyRead | None:
    rows = run(_ROW, {"anomaly_id": anomaly_id})
    if not rows:
        return None
    values = {
        "state": AnomalyState.RESOLVED,
        "resolved_at": now,
        "resolved_by": actor,
        "resolution": resolution,
    }
    run(_RESOLVE, {"anomaly_id": anomaly_id, **values}, expected=rows[0])
    return AnomalyRead.model_validate(rewritten(rows[0], values))


def row(run: Writer, anomaly_id: uuid.UUID) -> Any:
    """The anomaly as committed (its columns by name), or NotFound."""
    rows = run(_ROW, {"anomaly_id": anomaly_id})
    if not rows:
        raise NotFound(f"no anomaly with id {anomaly_id}")
    return rows[0]


def acknowledge(
    run: Writer,
    anomaly: Any,
    *,
    actor: str,
    now: datetime,
    comment: str | None,
) -> AnomalyRead:
    """Recorded as acknowledged by `actor`; an open anomaly becomes acknowledged (a shelved
    one stays shelved, acknowledged underneath)."""
    values = {
        "state": AnomalyState.ACKNOWLEDGED if anomaly.state == AnomalyState.OPEN else anomaly.state,
        "acknowledged_at": now,
        "acknowledged_by": actor,
        "acknowledge_comment": comment,
    }
    run(_ACKNOWLEDGE, {"anomaly_id": anomaly.id, **values}, expected=anomaly)
    return AnomalyRead.model_validate(rewritten(anomaly, values))
