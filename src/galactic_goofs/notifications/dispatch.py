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
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import aiohttp
from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from galactic_goofs.db import Base, Database, utcnow
from galactic_goofs.events.schemas import EventRead, EventType
from galactic_goofs.fleet.faults import Severity
from galactic_goofs.notifications import service, ssrf
from galactic_goofs.notifications.models import Delivery, DeliveryStatus, WebhookEndpoint

log = logging.getLogger(__name__)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The system's certificate authorities, loaded once a process rather than by every
    endpoint's connection pool: loading them costs a tenth of a second of CPU."""
    return ssl.create_default_context()


CONSUMER_NAME = "webhook-dispatch"
SEVERITY_ORDER = {Severity.MINOR: 0, Severity.MAJOR: 1, Severity.CRITICAL: 2}
PER_ENDPOINT = 4
MAX_RETRY_AFTER = 24 * 3600.0
"""A receiver may ask us to wait, but not to hold a delivery longer than a day per attempt."""
ERROR_LENGTH = 300
RECORD_GATHER = 0.25
"""Seconds the recorder waits, once an attempt finished, for others to record with it. A
delivery's slot is free meanwhile, so this costs no throughput and no latency; it makes one
transaction of fifty deliveries at 200 a second where 20 ms made one of four."""
PRUNE_INTERVAL = 600.0
"""Seconds between looks for deliveries old enough to leave the log."""
CLIENT_IDLE = 60.0
"""Seconds an endpoint's connections are kept after its last delivery."""
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


def matches(endpoint: Any, event: EventRead) -> bool:
    """Whether `endpoint` (its `events` and `min_severity`) wants `event`."""
    if "*" not in endpoint.events and str(event.type) not in endpoint.events:
        return False
    if endpoint.min_severity and event.type == EventType.MALFUNCTIONED:
        severity = _severity(event)
        if severity is not None:
            return SEVERITY_ORDER[severity] >= SEVERITY_ORDER[Severity(endpoint.min_severity)]
    return True


_ENABLED = select(WebhookEndpoint.id, WebhookEndpoint.events, WebhookEndpoint.min_severity).where(
    WebhookEndpoint.enabled
)
"""What matching an event needs of each endpoint; built once, as it runs for every batch."""
_QUEUE = insert(Base.metadata.tables[Delivery.__tablename__])


class WebhookDispatch:
    """The consumer: one delivery row per matching event and enabled endpoint."""

    name = CONSUMER_NAME
    start: Literal["beginning", "now"] = "now"
    """An endpoint hears of what happens after it is registered; the past is not news."""
    batch_size = 200

    def __init__(self, on_queued: Callable[[], None] = lambda: None) -> None:
        self.on_queued = on_queued
        """Called once a batch that queued deliveries has committed, so the sender starts on
        them without polling (and not before they are there to be read)."""
        self._queued = False

    def committed(self) -> None:
        """The runner's word that the last batch committed."""
        if self._queued:
            self._queued = False
            self.on_queued()

    def handle(self, session: Session, events: Sequence[EventRead]) -> None:
        self._queued = False
        connection = session.connection()
        endpoints = list(connection.execute(_ENABLED))
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
            connection.execute(_QUEUE, rows)
            self._queued = True


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


def retry_after(headers: Mapping[str, str]) -> float | None:
    """A `Retry-After` header's wait in seconds (given as seconds or as a date), capped."""
    value = headers.get("retry-after")
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
        schedule: Sequence[float],
        queued_here: asyncio.Event | None = None,
        timeout: float,
        allow_private: bool,
        concurrency: int = 64,
        poll_interval: float = 0.5,
        log_days: float = 0,
        prune_interval: float = PRUNE_INTERVAL,
    ) -> None:
        self.db = db
        self.leading = leading
        self.queued_here = queued_here
        """Set when deliveries are queued on this instance (by the dispatching consumer, a
        test ping, a redelivery): read at once, not at the next poll."""
        self.wake = asyncio.Event()
        """Set when there may be something to send: new deliveries, a free slot."""
        self.schedule = list(schedule)
        self.timeout = timeout
        self.allow_private = allow_private
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.log_days = log_days
        """Settled deliveries older than this many days leave the log (0: kept for ever)."""
        self.prune_interval = prune_interval
        self._in_flight: dict[int, uuid.UUID] = {}
        """Deliveries being POSTed, and their endpoints: these hold the sender's slots."""
        self._recording: set[int] = set()
        """Deliveries attempted and not yet recorded: still pending in the database, so not
        picked again, but no longer holding a slot (recording waits for a batch to gather)."""
        self._per_endpoint: Counter[uuid.UUID] = Counter()
        """Of `_in_flight`, how many to each endpoint."""
        self._backlog: dict[int, service.Due] = {}
        """Due deliveries read and not started yet, oldest due first: a free slot takes the
        next one without asking the database again."""
        self._news = True
        """Whether the database may hold due deliveries the backlog lacks."""
        self._read_at = -math.inf
        self._tasks: set[asyncio.Task[None]] = set()
        self._done: list[tuple[service.Due, service.Outcome]] = []
        self._anything_done = asyncio.Event()
        self._pruned_at = -math.inf
        self._clients: dict[uuid.UUID, tuple[aiohttp.ClientSession, float]] = {}
        """Each endpoint's own connection pool, and when it was last used. One pool for all
        would look over every open connection at each request: at hundreds of deliveries a
        second that scan cost more than the POSTs themselves."""
        self._clients_swept_at = time.monotonic()
        self._retry_recorded = False
        """A retry was scheduled since the last sleep: the next may be due before a poll."""

    async def run(self) -> None:
        recorder = asyncio.create_task(self._record_continually())
        helpers = [recorder]
        if self.queued_here is not None:
            helpers.append(asyncio.create_task(self._hear_of_queued(self.queued_here)))
        try:
            while True:
                try:
                    if self.leading():
                        await self._start_due()
                        await self._prune_now_and_then()
                    await self._close_idle_clients()
                except Exception as error:
                    log.warning("webhook sender: %s", error)
                await self._sleep()
        finally:
            for task in (*self._tasks, *helpers):
                task.cancel()
            await asyncio.gather(*self._tasks, *helpers, return_exceptions=True)
            for client, _ in self._clients.values():
                await client.close()

    def _client(self, endpoint_id: uuid.UUID) -> aiohttp.ClientSession:
        client = self._clients.get(endpoint_id, (None, 0.0))[0] or aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=PER_ENDPOINT, ssl=_tls_context()),
            cookie_jar=aiohttp.DummyCookieJar(),  # a receiver's cookies are not kept
            timeout=aiohttp.ClientTimeout(total=self.timeout),
        )
        self._clients[endpoint_id] = (client, time.monotonic())
        return client

    async def _close_idle_clients(self) -> None:
        now = time.monotonic()
        if now - self._clients_swept_at < CLIENT_IDLE:
            return
        self._clients_swept_at = now
        for endpoint_id, (client, used_at) in list(self._clients.items()):
            if now - used_at > CLIENT_IDLE and not self._per_endpoint[endpoint_id]:
                del self._clients[endpoint_id]
                await client.close()

    def queued(self) -> None:
        """New deliveries are committed: read them at once."""
        self._news = True
        self.wake.set()

    async def _hear_of_queued(self, queued: asyncio.Event) -> None:
        while True:
            await queued.wait()
            queued.clear()
            self.queued()

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
            self._news = True  # retries come due, redeliveries and test pings are queued
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

    async def _start_due(self) -> None:
        if len(self._in_flight) >= self.concurrency:
            return
        if time.monotonic() - self._read_at > self.poll_interval:
            # Endpoints change (disabled, deleted, redelivered by hand): nothing is started
            # from a reading older than an interval.
            self._backlog.clear()
            self._news = True
        if self._news:
            await self._read_due()
        for delivery in list(self._backlog.values()):
            if len(self._in_flight) >= self.concurrency:
                break
            if self._per_endpoint[delivery.endpoint_id] >= PER_ENDPOINT:
                continue  # its endpoint's slots are taken; the others go on
            del self._backlog[delivery.id]
            self._in_flight[delivery.id] = delivery.endpoint_id
            self._per_endpoint[delivery.endpoint_id] += 1
            task = asyncio.create_task(self._deliver(self._client(delivery.endpoint_id), delivery))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _read_due(self) -> None:
        """Adds to the backlog what has come due, leaving out endpoints with enough waiting
        already, so a dead endpoint's thousand retries never crowd out anybody else."""
        self._news = False
        self._read_at = time.monotonic()
        waiting = Counter(delivery.endpoint_id for delivery in self._backlog.values())
        waiting.update(self._per_endpoint)
        limit = self.concurrency * 4
        due = await self.db.read_in_place(
            service.due,
            limit=limit,
            skip_endpoints={e for e, count in waiting.items() if count >= 2 * PER_ENDPOINT},
            skip=self._in_flight.keys() | self._recording | self._backlog.keys(),
        )
        self._backlog.update((delivery.id, delivery) for delivery in due)
        self._news = len(due) == limit  # more where these came from

    async def _deliver(self, client: aiohttp.ClientSession, delivery: service.Due) -> None:
        try:
            outcome = await self.attempt(client, delivery)
        finally:
            del self._in_flight[delivery.id]
            self._per_endpoint[delivery.endpoint_id] -= 1
        # Its slot is free for the next POST now; until the attempt is recorded it is skipped,
        # so it is not picked again.
        self._recording.add(delivery.id)
        self._done.append((delivery, outcome))
        self._anything_done.set()
        self.wake.set()

    async def _record_continually(self) -> None:
        """Records finished attempts, all that finished meanwhile in one transaction: at
        hundreds of deliveries a second, a commit each would cost more than the POSTs."""
        while True:
            await self._anything_done.wait()
            # A moment for the attempts finishing alongside (see RECORD_GATHER).
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
            self._news = True
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
            self._recording.difference_update(delivery.id for delivery, _ in done)
            self.wake.set()  # those still pending may be picked again

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

    async def attempt(
        self, client: aiohttp.ClientSession, delivery: service.Due
    ) -> service.Outcome:
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
            # The timeout covers the whole exchange, a receiver that drips its answer too.
            async with client.post(
                delivery.url, data=content.encode(), headers=headers, allow_redirects=False
            ) as response:
                code = response.status
                answer = b""
                if not 200 <= code < 400:
                    answer = await response.content.read(ERROR_LENGTH)
        except TimeoutError:
            return service.Outcome(None, took(), f"no answer within {self.timeout:g} s")
        except aiohttp.ClientError as error:
            return service.Outcome(None, took(), _short(f"{type(error).__name__}: {error}"))
        problem = None
        if 300 <= code < 400:
            problem = f"redirect to {response.headers.get('location', '?')} (not followed)"
        elif not 200 <= code < 300:
            problem = f"HTTP {code}: {answer.decode(errors='replace')}"
        wait = retry_after(response.headers) if code in (429, 503) else None
        return service.Outcome(code, took(), problem and _short(problem), wait)


def _short(text: str) -> str:
    return text if len(text) <= ERROR_LENGTH else text[: ERROR_LENGTH - 1] + "…"
