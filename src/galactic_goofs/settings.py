from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from galactic_goofs.orbits.stations import DEFAULT_STATIONS, GroundStation, parse_stations


def default_database_url() -> str:
    return f"sqlite+aiosqlite:///{Path.cwd() / 'galactic_goofs.db'}"


class Settings(BaseSettings):
    """Everything the app needs to know, read from the environment (and `.env`) on demand."""

    model_config = SettingsConfigDict(env_prefix="GOOFS_", env_file=".env", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    broker_url: str = "memory://"
    redis_channel: str = Field(default="galactic_goofs:events", min_length=1)
    """The pub/sub channel of one deployment; deployments sharing a Redis need their own."""
    malfunction_interval: float = Field(default=5.0, ge=0)
    stream_queue_size: int = Field(default=1024, ge=1)
    """Frames a subscriber may lag before it is disconnected (it resumes by replay)."""
    heartbeat_interval: float = Field(default=15.0, gt=0)
    catch_up_interval: float = Field(default=1.0, gt=0)
    """How often each instance checks the event log for events the broker did not bring."""
    retry_ms: int = Field(default=2000, ge=0)
    event_retention: int = Field(default=100_000, ge=0)
    """Events kept in the log (0 keeps everything); older cursors get a `reset` event."""
    lease_ttl: float = Field(default=5.0, gt=0)
    clock_interval: float = Field(default=1.0, gt=0)
    """Seconds between looks for maintenance windows and shelves whose time has come."""
    migrate_on_start: bool = True
    public_read: bool = True
    """Anyone who reaches the console may watch; false requires signing in to read too."""
    metrics_per_spacecraft: bool = False
    """A `/metrics` series per spacecraft: for small fleets (one series each)."""
    session_lifetime: float = Field(default=12 * 3600, gt=0)
    sign_in_max_failures: int = Field(default=5, ge=1)
    sign_in_window: float = Field(default=300, gt=0)
    """Failed sign-ins for one name within this many seconds before it is refused for a while."""
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_streams: int = Field(default=5000, ge=1)
    """Open stream connections per instance; beyond it new ones get 503 and Retry-After."""
    socket_send_buffer: int = Field(default=64 * 1024, ge=0)
    """Kernel send buffer per connection, in bytes (the kernel doubles it; 0: its own default)."""
    webhook_timeout: float = Field(default=10.0, gt=0, le=300)
    """Seconds a receiver has to answer one delivery attempt."""
    webhook_retry_schedule: str = "5s,5m,30m,2h,5h,10h,10h"
    """Waits before each retry of a failed delivery (`ms`, `s`, `m`, `h`, `d`); then it fails."""
    webhook_allow_private: bool = False
    """Allow webhooks to loopback, private and link-local addresses (receivers inside)."""
    webhook_concurrency: int = Field(default=64, ge=1, le=1000)
    """Deliveries in flight at once on the dispatching instance."""
    webhook_log_days: float = Field(default=14.0, ge=0)
    """Days a settled delivery stays in the log (with its attempts); 0 keeps them all."""

    @field_validator("webhook_retry_schedule")
    @classmethod
    def valid_schedule(cls, schedule: str) -> str:
        from galactic_goofs.notifications.dispatch import parse_schedule

        parse_schedule(schedule)
        return schedule

    ground_stations: str = DEFAULT_STATIONS
    """`Name:latitude:longitude[:min_elevation]`, comma-separated (see `orbits.stations`)."""

    @field_validator("ground_stations")
    @classmethod
    def valid_ground_stations(cls, text: str) -> str:
        parse_stations(text)
        return text

    @property
    def stations(self) -> tuple[GroundStation, ...]:
        return parse_stations(self.ground_stations)

    @field_validator("database_url")
    @classmethod
    def use_async_driver(cls, url: str) -> str:
        for plain, driver in (
            ("sqlite://", "sqlite+aiosqlite://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
        ):
            if url.startswith(plain):
                return driver + url.removeprefix(plain)
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
