"""`create_app(settings)`: wiring and lifespan only."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import text
from starlette.routing import BaseRoute

from galactic_goofs import migrate
from galactic_goofs.analytics import api as analytics_api
from galactic_goofs.analytics.intervals import AvailabilityIntervals
from galactic_goofs.analytics.tallies import EventTallies
from galactic_goofs.anomalies import api as anomalies_api
from galactic_goofs.asgi import App
from galactic_goofs.auth import admin_views
from galactic_goofs.auth import api as auth_api
from galactic_goofs.auth import views as auth_views
from galactic_goofs.auth.csrf import CsrfCookieMiddleware
from galactic_goofs.auth.dependencies import Forbidden, NotAuthenticated, require_viewer
from galactic_goofs.clock import Clock
from galactic_goofs.db import Database
from galactic_goofs.deps import StateDep
from galactic_goofs.errors import DomainError, Unprocessable
from galactic_goofs.events import api as events_api
from galactic_goofs.events import service as events_service
from galactic_goofs.events.broker import create_broker
from galactic_goofs.events.consumers import Consumer, ConsumerRunner
from galactic_goofs.events.hub import Hub
from galactic_goofs.fleet import api as fleet_api
from galactic_goofs.metrics import api as metrics_api
from galactic_goofs.middleware import BodySizeLimitMiddleware, SecurityHeadersMiddleware
from galactic_goofs.notifications import api as webhooks_api
from galactic_goofs.notifications import views as webhooks_views
from galactic_goofs.notifications.dispatch import Sender, WebhookDispatch, parse_schedule
from galactic_goofs.orbits import api as orbits_api
from galactic_goofs.outage import CONNECTION_ERRORS, database_unavailable
from galactic_goofs.routing import DocumentedMethodsMiddleware, PathMethods
from galactic_goofs.settings import Settings
from galactic_goofs.simulator import FaultSimulator
from galactic_goofs.state import AppState
from galactic_goofs.unprocessable import validation_error
from galactic_goofs.web import analytics as analytics_views
from galactic_goofs.web import views

log = logging.getLogger(__name__)

PRUNE_INTERVAL = 60.0
# What any API route may answer besides its own results, documented once for all of them.
REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The request body could not be parsed"},
    401: {"description": "Sign in, or send `Authorization: Bearer <token>`"},
    403: {
        "description": "The role or the token's scope does not allow this, or a signed-in "
        "browser's post came without a valid CSRF token"
    },
    413: {"description": "The request body is larger than the limit"},
    503: {"description": "The database is unavailable; retry after `Retry-After` seconds"},
}


CONSUMERS: tuple[Callable[[], Consumer], ...] = (EventTallies, AvailabilityIntervals)
"""The durable consumers of the event log every instance runs (see `events.consumers`)."""


_WATCHING = [Depends(require_viewer)]
_ROUTERS: list[tuple[APIRouter, list[Any] | None, dict[int | str, dict[str, Any]] | None]] = [
    (fleet_api.router, _WATCHING, REFUSALS),
    (anomalies_api.router, _WATCHING, REFUSALS),
    (events_api.router, _WATCHING, REFUSALS),
    (orbits_api.router, _WATCHING, REFUSALS),
    (analytics_api.router, _WATCHING, REFUSALS),
    (views.router, _WATCHING, None),
    (analytics_views.router, _WATCHING, None),
    (metrics_api.router, _WATCHING, None),
    (auth_api.operators, None, REFUSALS),
    (auth_api.tokens, None, REFUSALS),
    (auth_api.audit, None, REFUSALS),
    (webhooks_api.router, None, REFUSALS),
    (auth_views.router, None, None),
    (admin_views.router, None, None),
    (webhooks_views.router, None, None),
]
"""The app's routers, in the order requests are matched, with what each adds to its routes:
who may call them, and the refusals its API routes document."""


@functools.cache
def _routes() -> APIRouter:
    """Every router of `_ROUTERS`, included once a process. FastAPI prepares an included
    router's routes (parameters, models, validators) when a request first reaches them, about
    a tenth of a second of CPU for all, and prepares them again for each app that includes the
    routers itself; apps that share these share one preparation. A server makes one app; a
    test suite makes hundreds."""
    routes = APIRouter()
    for router, dependencies, responses in _ROUTERS:
        routes.include_router(router, dependencies=dependencies, responses=responses)
    return routes


_OWN = APIRouter()
"""The app's own routes, beside the routers'. At module level, not in `create_app`: FastAPI
keeps every endpoint it has seen in caches of a few thousand entries, so an endpoint defined
per app would keep that app, with its database engines, alive after it stops."""


@_OWN.get("/docs", include_in_schema=False)
async def api_docs(request: Request) -> HTMLResponse:
    return views.templates.TemplateResponse(
        request, "api_docs.html", {"openapi_url": request.app.openapi_url}
    )


@_OWN.get("/healthz", tags=["health"])
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@_OWN.get("/readyz", tags=["health"], responses={503: {"description": "Not ready"}})
async def readyz(state: StateDep) -> JSONResponse:
    checks = {"database": await _database_ok(state.db), "broker": await state.broker.ping()}
    ready = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


@functools.cache
def _own_routes() -> APIRouter:
    """`_OWN`, included once a process (as `_routes`)."""
    routes = APIRouter()
    routes.include_router(_OWN)
    return routes


def create_app(settings: Settings | None = None, *, consumers: Sequence[Consumer] = ()) -> FastAPI:
    """The app for `settings`; `consumers` run beside the built-in ones (`CONSUMERS`)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url)
        if settings.migrate_on_start:
            await migrate.upgrade(db)
        else:
            await migrate.ensure_current(db)
        broker = create_broker(settings.broker_url, channel=settings.redis_channel)
        hub = Hub(
            db,
            broker,
            queue_size=settings.stream_queue_size,
            heartbeat_interval=settings.heartbeat_interval,
            catch_up_interval=settings.catch_up_interval,
        )
        state = AppState(settings=settings, db=db, broker=broker, hub=hub)
        app.state.goofs = state
        views.register_formats(state)
        hub.lag_observer = state.metrics.observe_delivery
        await hub.start()
        background: list[asyncio.Task[None]] = []

        def spawn(job: Coroutine[Any, Any, None], name: str) -> None:
            background.append(asyncio.create_task(job, name=name))

        spawn(state.auth.watch(), "credential-watch")

        if settings.malfunction_interval > 0:
            simulator = FaultSimulator(
                state,
                interval=settings.malfunction_interval,
                lease_ttl=max(settings.lease_ttl, settings.malfunction_interval * 2),
            )
            spawn(simulator.run(), "fault-simulator")
        clock = Clock(
            state,
            interval=settings.clock_interval,
            lease_ttl=max(settings.lease_ttl, settings.clock_interval * 3),
        )
        spawn(clock.run(), "clock")
        spawn(state.metrics.sample_periodically(hub), "metrics-sampler")
        if settings.event_retention > 0:
            spawn(_prune_periodically(db, settings.event_retention), "event-pruner")
        for consumer in [*(make() for make in CONSUMERS), *consumers]:
            runner = ConsumerRunner(
                db, consumer, hub.watch(), catch_up_interval=settings.catch_up_interval
            )
            spawn(runner.run(), f"consumer-{consumer.name}")
        _start_webhooks(state, spawn)
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await hub.stop()
            state.metrics.retire()
            await broker.close()
            await db.dispose()

    app = App(
        title="Galactic Goofs",
        summary="Oops, the satellites are breaking. Fix 'em.",
        version="1.0",
        lifespan=lifespan,
        # Served below from our own static files: FastAPI's pages would load Swagger UI from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.router.routes.extend(_routes().routes)
    views.mount_static(app)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(Unprocessable, _unprocessable)
    app.add_exception_handler(NotAuthenticated, auth_views.not_authenticated)
    app.add_exception_handler(Forbidden, auth_views.forbidden)
    app.add_exception_handler(RequestValidationError, validation_error)
    for connection_error in CONNECTION_ERRORS:
        app.add_exception_handler(connection_error, database_unavailable)

    app.router.routes.extend(_own_routes().routes)

    # The 405 table, from the routes as declared (the routers' own and the app's): walking the
    # app's included routes instead would make FastAPI prepare them all before any request.
    declared: list[BaseRoute] = [route for route in app.routes if isinstance(route, APIRoute)]
    declared += [route for router, _, _ in _ROUTERS for route in router.routes]
    declared += _OWN.routes
    app.add_middleware(DocumentedMethodsMiddleware, methods=PathMethods.from_routes(declared))
    app.add_middleware(CsrfCookieMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)

    return app


WEBHOOK_SETTLE_SECONDS = 0.25
"""A notification is waited for: its consumer batches a quarter of a second, not half of one.
Each batch is a transaction, then a read of what is due, then the POSTs; at 200 deliveries a
second, batches of a tenth of a second cost about a tenth more of the server's CPU, for a
commit-to-receipt p99 of 115 ms instead of 265 ms (the target is 500 ms)."""


def _start_webhooks(
    state: AppState, spawn: Callable[[Coroutine[Any, Any, None], str], None]
) -> None:
    """Dispatch talks to the outside world, so one instance does it: the holder of the lease
    runs both the consumer that queues deliveries and the sender that makes them."""
    settings, db, hub = state.settings, state.db, state.hub
    dispatch = WebhookDispatch(on_queued=state.deliveries_queued.set)
    runner = ConsumerRunner(
        db,
        dispatch,
        hub.watch(),
        catch_up_interval=settings.catch_up_interval,
        lease_ttl=settings.lease_ttl,
        settle=WEBHOOK_SETTLE_SECONDS,
        committed=dispatch.committed,
    )
    sender = Sender(
        db,
        leading=lambda: runner.leading,
        schedule=parse_schedule(settings.webhook_retry_schedule),
        queued_here=state.deliveries_queued,
        timeout=settings.webhook_timeout,
        allow_private=settings.webhook_allow_private,
        concurrency=settings.webhook_concurrency,
        log_days=settings.webhook_log_days,
    )
    spawn(runner.run(), f"consumer-{dispatch.name}")
    spawn(sender.run(), "webhook-sender")


async def _domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    return JSONResponse({"detail": error.message}, status_code=error.status_code)


async def _unprocessable(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, Unprocessable)
    problem = {"type": "value_error", "loc": list(error.loc), "msg": error.message}
    return JSONResponse({"detail": [problem]}, status_code=error.status_code)


async def _database_ok(db: Database) -> bool:
    try:
        async with asyncio.timeout(2), db.reading() as session:
            await session.execute(text("SELECT 1"))
    except Exception as error:
        log.warning("database not reachable: %s", error)
        return False
    return True


async def _prune_periodically(db: Database, keep: int) -> None:
    while True:
        pruned = 0
        try:
            # In batches, each a short write, with the loop free in between.
            while batch := await db.write(events_service.prune, keep):
                pruned += batch
                await asyncio.sleep(0)
        except Exception as error:
            log.warning("pruning the event log failed: %s", error)
        if pruned:
            log.info("pruned %d old events", pruned)
        await asyncio.sleep(PRUNE_INTERVAL)
