"""The app with one more durable consumer, slow on purpose, for the kill -9 test.

`uvicorn tests.system.consumer_server:build --factory`, configured by the usual `GOOFS_*`
variables and `GOOFS_TEST_PROGRESS`: the file to which each batch adds a line with its first
seq before it takes its time, so a test can kill the process in the middle of a batch.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.orm import Session

from galactic_goofs.app import create_app
from galactic_goofs.events.schemas import EventRead
from galactic_goofs.settings import Settings

NAME = "slow-recorder"
BATCH_SECONDS = 0.25


class SlowRecorder:
    """Writes each seq into `handled` (no unique key: a seq handled twice shows up twice)."""

    name = NAME
    start: Literal["beginning", "now"] = "beginning"
    batch_size = 10

    def __init__(self, progress: Path) -> None:
        self.progress = progress

    def handle(self, session: Session, events: Sequence[EventRead]) -> None:
        session.execute(
            text("INSERT INTO handled (seq) VALUES (:seq)"), [{"seq": e.seq} for e in events]
        )
        with self.progress.open("a") as progress:
            progress.write(f"{events[0].seq}\n")
        time.sleep(BATCH_SECONDS)  # the window the test kills in, with the batch uncommitted


def build() -> FastAPI:
    return create_app(Settings(), consumers=[SlowRecorder(Path(os.environ["GOOFS_TEST_PROGRESS"]))])
