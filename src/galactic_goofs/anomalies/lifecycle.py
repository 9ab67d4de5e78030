"""An anomaly's two busy moments: opened by a malfunction, resolved by its repair.

Both run inside those changes' own transactions, which are precompiled statement paths
(`galactic_goofs.precompiled`), so each is one precompiled statement too: the insert of the
new anomaly, and the update that resolves it by its key.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import bindparam, insert, inspect, update

from galactic_goofs.anomalies.models import Anomaly, AnomalyState
from galactic_goofs.anomalies.schemas import AnomalyRead
from galactic_goofs.fleet.faults import FaultTemplate
from galactic_goofs.precompiled import Statement, Writer

_COLUMNS = inspect(Anomaly).columns
_OPEN = Statement(insert(Anomaly), column_keys=[column.key for column in _COLUMNS])
_RESOLVE = Statement(
    update(Anomaly).where(Anomaly.id == bindparam("anomaly_id")).returning(*_COLUMNS),
    column_keys=["state", "resolved_at", "resolved_by", "resolution"],
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
    rows = run(
        _RESOLVE,
        {
            "anomaly_id": anomaly_id,
            "state": AnomalyState.RESOLVED,
            "resolved_at": now,
            "resolved_by": actor,
            "resolution": resolution,
        },
    )
    return AnomalyRead.model_validate(rows[0]) if rows else None
