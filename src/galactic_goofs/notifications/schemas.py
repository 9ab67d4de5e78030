from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from galactic_goofs.events.schemas import EventType
from galactic_goofs.fleet.faults import Severity

ALL_EVENTS = "*"
TEST_EVENT = "webhook.test"


class Format(StrEnum):
    STANDARD = "standard"
    SLACK = "slack"


EventFilter = Annotated[
    list[Literal["*"] | EventType],
    Field(
        min_length=1,
        max_length=len(EventType) + 1,
        description='Event types to send, or `["*"]` for every type',
        examples=[["spacecraft.malfunctioned", "spacecraft.repaired"]],
    ),
]


def _no_control_characters(value: str) -> str:
    if any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in value):
        raise ValueError("must not contain control characters")
    return value.strip()


Url = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2000,
        pattern=r"^[^\x00-\x20\x7f-\x9f]+$",
        examples=["https://hooks.example.com/goofs"],
        description="http(s) only; private, loopback and link-local addresses are refused "
        "unless the server allows them",
    ),
]
Description = Annotated[
    str,
    Field(max_length=500, pattern=r"^[^\x00-\x1f\x7f-\x9f]*$"),
    AfterValidator(_no_control_characters),
]


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookCreate(RequestModel):
    url: Url
    events: EventFilter
    min_severity: Severity | None = Field(
        default=None, description="Malfunctions below this severity are not sent"
    )
    format: Format = Format.STANDARD
    description: Description = ""


class WebhookUpdate(RequestModel):
    url: Url | None = None
    events: EventFilter | None = None
    min_severity: Severity | None = None
    format: Format | None = None
    description: Description | None = None
    enabled: StrictBool | None = Field(
        default=None, description="Re-enabling clears the reason it was disabled"
    )


class RotateSecret(RequestModel):
    grace_minutes: int = Field(
        default=24 * 60,
        ge=0,
        le=7 * 24 * 60,
        description="How long the old secret keeps signing beside the new one",
    )


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    events: list[str]
    min_severity: Severity | None
    format: Format
    description: str
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime
    last_success_at: datetime | None
    failures_in_a_row: int
    previous_secret_expires_at: datetime | None
    """While set, deliveries are signed with the old secret as well as the new one."""


class WebhookCreated(WebhookRead):
    secret: str = Field(description="The signing secret (`whsec_...`), shown this once")


class AttemptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    outcome: str


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    webhook_id: str
    event_seq: int | None
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_latency_ms: int | None
    last_error: str | None
    attempt_log: list[AttemptRead] = []


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    total: int
    limit: int
    offset: int
