"""From the event log to the receivers: the dispatching consumer and its sender.

`WebhookDispatch` is a durable consumer run under a lease, so one instance dispatches: for each
batch of events it writes one delivery row per matching endpoint, in the transaction that moves
its cursor, so a crash anywhere replays the batch and loses nothing (a delivery row is unique
per event and endpoint, so nothing is queued twice either). The `Sender`, on the instance that
holds that lease, POSTs the due rows and records each attempt. A sender killed after a POST and
before recording it sends that delivery again, with the same `webhook-id`: at least once.

Each endpoint gets at most `PER_ENDPOINT` requests in flight and the whole sender `concurrency`,
so one slow or dead receiver holds its own slots and never anybody else's.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import json
import logging
import math
import ssl
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from galactic_goofs.db import Database, utcnow
from galactic_goofs.events.schemas import EventRead, EventType
from galactic_goofs.fleet.faults import Severity
from galactic_goofs.notifications import service, ssrf
from galactic_goofs.notifications.models import Delivery, DeliveryStatus, WebhookEndpoint

log = logging.getLogger(__name__)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default verification (the CA bundle), loaded once a process rather than by every
    sender: loading it costs a tenth of a second of CPU."""
    return httpx.create_ssl_context()


CONSUMER_NAME = "webhook-dispatch"
SEVERITY_ORDER = {Severity.MINOR: 0, Severity.MAJOR: 1, Severity.CRITICAL: 2}
PER_ENDPOINT = 4
MAX_RETRY_AFTER = 24 * 3600.0
"""A receiver may ask us to wait, but not to hold a delivery longer than a day per attempt."""
ERROR_LENGTH = 300
RECORD_GATHER = 0.02
"""Seconds the recorder waits, once an attempt finished, for others to record with it."""
PRUNE_INTERVAL = 600.0
"""Seconds between looks for deliveries old enough to leave the log."""
NEWS_OF_SUPPRESSION = frozenset(
    {EventType.SHELVED, EventType.MAINTENANCE_STARTED, EventType.MAINTENANCE_ENDED}
)


def parse_schedule(text: str) -> list[float]:
    """`5s,5m,30m,2h` -> seconds; ValueError with what is wrong."""
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
    waits = []
    for part in (piece.strip() for piece in text.split(",")):
        if not part:
            continue
        number = part.rstrip("smhd")
        unit = part[len(number) :] or "s"
        if unit not in units:
            raise ValueError(f"unknown unit in {part!r}: use ms, s, m, h or d")
        try:
            value = float(number) * units[unit]
        except ValueError:
            raise ValueError(f"{part!r} is not a duration like 5s, 5m or 2h") from None
        if value < 0:
            raise ValueError(f"{part!r} is negative")
        waits.append(value)
    return waits


def suppressed(event: EventRead) -> bool:
    """Whether the event concerns a shelved anomaly or a spacecraft in maintenance, judged
    from the snapshot the event carries (so a replay decides the same way)."""
    data = event.data
    if event.type in NEWS_OF_SUPPRESSION:
        return False  # the news of the shelving or the maintenance itself
    if data.get("planned") is True:
        return True  # a malfunction inside a maintenance window
    craft = _mapping(data.get("spacecraft"))
    anomaly = _mapping(data.get("anomaly")) or _mapping(craft.get("anomaly"))
    if anomaly.get("state") == "shelved":
        return True
    maintenance = _mapping(craft.get("maintenance"))
    if not maintenance:
        return False
    try:
        starts = datetime.fromisoformat(str(maintenance.get("starts_at")))
        until = datetime.fromisoformat(str(maintenance.get("until")))
    except ValueError:
        return False
    return starts <= event.occurred_at < until


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _severity(event: EventRead) -> Severity | None:
    fault = event.data.get("fault")
    if isinstance(fault, dict) and fault.get("severity") in Severity.__members__.values():
        return Severity(fault["severity"])
    return None


def matches(endpoint: WebhookEndpoint, event: EventRead) -> bool:
    if "*" not in endpoint.events and str(event.type) not in endpoint.events:
        return False
    if endpoint.min_severity and event.type == EventType.MALFUNCTIONED:
        severity = _severity(event)
        if severity is not None:
            return SEVERITY_ORDER[severity] >= SEVERITY_ORDER[Severity(endpoint.min_severity)]
    return True


class WebhookDispatch:
    """The consumer: one delivery row per matching event and enabled endpoint."""

    name = CONSUMER_NAME
    start: Literal["beginning", "now"] = "now"
    """An endpoint hears of what happens after it is registered; the past is not news."""
    batch_size = 200

    def __init__(self, wake: asyncio.Event | None = None) -> None:
        self.wake = wake or asyncio.Event()
        """Set when this batch queued deliveries, so the sender starts without polling."""

    def handle(self, session: Session, events: Sequence[EventRead]) -> None:
        endpoints = list(session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.enabled)))
        if not endpoints:
            return
        now = utcnow()
        rows = []
        for event in events:
            if suppressed(event):
                continue
            payload: str | None = None
            for endpoint in endpoints:
                if not matches(endpoint, event):
                    continue
                payload = payload or service.event_body(event)
                rows.append(
                    {
                        "webhook_id": service.new_webhook_id(),
                        "endpoint_id": endpoint.id,
                        "event_seq": event.seq,
                        "event_type": str(event.type),
                        "body": payload,
                        "status": DeliveryStatus.PENDING,
                        "attempts": 0,
                        "created_at": now,
                        "next_attempt_at": now,
                    }
                )
        if rows:
            # One multi-row statement: ten endpoints make ten rows per event.
            session.execute(insert(Delivery), rows)
            self.wake.set()


def slack_text(body: str) -> str:
    document = json.loads(body)
    data = document.get("data") or {}
    type = document.get("type", "")
    if type == "webhook.test":
        return str(data.get("message", "Test ping from Galactic Goofs"))
    details = _mapping(data.get("data"))
    name = _mapping(details.get("spacecraft")).get("name") or "a spacecraft"
    fault = _mapping(details.get("fault"))
    text = f"*{name}*: {type}"
    if type == EventType.MALFUNCTIONED and fault:
        text = (
            f":rotating_light: *{name}* malfunctioned ({fault.get('severity')}, "
            f"{fault.get('subsystem')}): {fault.get('description')}"
        )
    elif type == EventType.REPAIRED:
        text = f":white_check_mark: *{name}* was repaired by {data.get('actor')}"
    return text


def signed_headers(webhook_id: str, body: str, secrets: Sequence[str]) -> dict[str, str]:
    """Standard Webhooks headers: one `v1,` signature per secret, space-separated."""
    now = datetime.now(UTC)
    signatures = [Webhook(secret).sign(webhook_id, now, body) for secret in secrets]
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
        "user-agent": "galactic-goofs-webhooks/1",
    }


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


class Sender:
    """POSTs due deliveries while `leading()` says this instance holds dispatch's lease."""

    def __init__(
        self,
        db: Database,
        *,
        leading: Any,
        wake: asyncio.Event,
        schedule: Sequence[float],
        timeout: float,
        allow_private: bool,
        concurrency: int = 16,
        poll_interval: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
        log_days: float = 0,
        prune_interval: float = PRUNE_INTERVAL,
    ) -> None:
        self.db = db
        self.leading = leading
        self.wake = wake
        self.schedule = list(schedule)
        self.timeout = timeout
        self.allow_private = allow_private
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.transport = transport
        self.log_days = log_days
        """Settled deliveries older than this many days leave the log (0: kept for ever)."""
        self.prune_interval = prune_interval
        self._in_flight: dict[int, uuid.UUID] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._done: list[tuple[service.Due, service.Outcome]] = []
        self._anything_done = asyncio.Event()
        self._pruned_at = -math.inf
        self._retry_recorded = False
        """A retry was scheduled since the last sleep: the next may be due before a poll."""

    async def run(self) -> None:
        async with httpx.AsyncClient(
            timeout=self.timeout,
            follow_redirects=False,
            transport=self.transport,
            verify=_tls_context(),
        ) as client:
            recorder = asyncio.create_task(self._record_continually())
            try:
                while True:
                    try:
                        if self.leading():
                            await self._start_due(client)
                            await self._prune_now_and_then()
                    except Exception as error:
                        log.warning("webhook sender: %s", error)
                    await self._sleep()
            finally:
                for task in (*self._tasks, recorder):
                    task.cancel()
                await asyncio.gather(*self._tasks, recorder, return_exceptions=True)

    async def _sleep(self) -> None:
        """Until woken, the next poll, or the retry just scheduled falls due if that is
        sooner: a schedule's waits (Retry-After, or steps shorter than a poll) are kept to."""
        timeout = self.poll_interval
        if self._retry_recorded:
            self._retry_recorded = False
            timeout = min(timeout, await self._until_next_due())
        try:
            async with asyncio.timeout(timeout):
                await self.wake.wait()
        except TimeoutError:
            pass
        self.wake.clear()

    async def _until_next_due(self) -> float:
        try:
            async with self.db.reading() as session:
                due_at = await service.next_due_at(session)
        except Exception as error:
            log.warning("webhook sender: %s", error)
            return self.poll_interval
        if due_at is None:
            return self.poll_interval
        return max(0.0, (due_at - utcnow()).total_seconds())

    def _busy_endpoints(self) -> set[uuid.UUID]:
        counts: dict[uuid.UUID, int] = {}
        for endpoint_id in self._in_flight.values():
            counts[endpoint_id] = counts.get(endpoint_id, 0) + 1
        return {endpoint for endpoint, count in counts.items() if count >= PER_ENDPOINT}

    async def _start_due(self, client: httpx.AsyncClient) -> None:
        free = self.concurrency - len(self._in_flight)
        if free <= 0:
            return
        async with self.db.reading() as session:
            due = await service.due(
                session,
                limit=free * 4,
                skip_endpoints=self._busy_endpoints(),
                skip=set(self._in_flight),
            )
        for delivery in due:
            if len(self._in_flight) >= self.concurrency:
                break
            busy = self._busy_endpoints()
            if delivery.endpoint_id in busy:
                continue
            self._in_flight[delivery.id] = delivery.endpoint_id
            task = asyncio.create_task(self._deliver(client, delivery))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, client: httpx.AsyncClient, delivery: service.Due) -> None:
        try:
            outcome = await self.attempt(client, delivery)
        except BaseException:
            self._in_flight.pop(delivery.id, None)
            raise
        # Its slot stays taken until the attempt is recorded, so it is not picked again.
        self._done.append((delivery, outcome))
        self._anything_done.set()

    async def _record_continually(self) -> None:
        """Records finished attempts, all that finished meanwhile in one transaction: at
        hundreds of deliveries a second, a commit each would cost more than the POSTs."""
        while True:
            await self._anything_done.wait()
            # A moment for the attempts finishing alongside: at hundreds a second, twenty
            # milliseconds make one transaction of several.
            await asyncio.sleep(RECORD_GATHER)
            self._anything_done.clear()
            done, self._done = self._done, []
            if done:
                await self._record(done)

    async def _record(self, done: list[tuple[service.Due, service.Outcome]]) -> None:
        try:
            results = await self.db.write(
                service.record_attempts,
                [(delivery.id, outcome) for delivery, outcome in done],
                self.schedule,
            )
        except Exception as error:
            # Still pending in the database: sent again later, with the same webhook-id.
            log.warning("webhook sender: could not record %d attempts: %s", len(done), error)
            results = {}
        else:
            if "retry" in results.values():
                self._retry_recorded = True
            for delivery, outcome in done:
                result = results.get(delivery.id, "gone")
                if result != "delivered":
                    log.info(
                        "webhook %s to endpoint %s: %s (%s)",
                        delivery.webhook_id,
                        delivery.endpoint_id,
                        result,
                        outcome.error or outcome.status_code,
                    )
        finally:
            for delivery, _ in done:
                self._in_flight.pop(delivery.id, None)
            self.wake.set()  # slots are free

    async def _prune_now_and_then(self) -> None:
        """Keeps the delivery log to `log_days`, a batch per write, every `prune_interval`."""
        now = time.monotonic()
        if self.log_days <= 0 or now - self._pruned_at < self.prune_interval:
            return
        self._pruned_at = now
        older_than = utcnow() - timedelta(days=self.log_days)
        pruned = 0
        while self.leading() and (batch := await self.db.write(service.prune, older_than)):
            pruned += batch
            await asyncio.sleep(0)
        if pruned:
            log.info("pruned %d webhook deliveries older than %g days", pruned, self.log_days)

    async def attempt(self, client: httpx.AsyncClient, delivery: service.Due) -> service.Outcome:
        """One POST; never raises for what the receiver or the network did."""
        started = time.monotonic()

        def took() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            await ssrf.check(delivery.url, allow_private=self.allow_private)
        except ssrf.RefusedUrl as refused:
            return service.Outcome(None, took(), f"refused before connecting: {refused.message}")
        content = delivery.body
        if delivery.format == "slack":
            content = json.dumps({"text": slack_text(delivery.body)})
        headers = signed_headers(delivery.webhook_id, content, delivery.secrets)
        try:
            # httpx's timeout is per read; this bounds a receiver that drips its answer too.
            async with asyncio.timeout(self.timeout):
                response = await client.post(
                    delivery.url, content=content.encode(), headers=headers
                )
        except (httpx.TimeoutException, TimeoutError):
            return service.Outcome(None, took(), f"no answer within {self.timeout:g} s")
        except httpx.HTTPError as error:
            return service.Outcome(None, took(), _short(f"{type(error).__name__}: {error}"))
        code = response.status_code
        problem = None
        if 300 <= code < 400:
            problem = f"redirect to {response.headers.get('location', '?')} (not followed)"
        elif not 200 <= code < 300:
            problem = _short(f"HTTP {code}: {response.text}")
        wait = retry_after(response) if code in (429, 503) else None
        return service.Outcome(code, took(), problem and _short(problem), wait)


def _short(text: str) -> str:
    return text if len(text) <= ERROR_LENGTH else text[: ERROR_LENGTH - 1] + "…"
