"""Pacer's configuration: environment variables prefixed ``PACER_``, read once per process."""

from __future__ import annotations

import socket
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.clock import Clock, parse_clock


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PACER_", extra="ignore")

    redis_url: str = "redis://127.0.0.1:6379/0"
    targets_file: Path | None = None
    """None: the shipped default targets file."""
    tokens_file: Path | None = None
    clock: str = "system"
    alertmanager_url: str | None = None

    bind: str = "127.0.0.1"
    api_port: int = 8000
    aggregator_port: int = 8001
    alerting_port: int = 8002
    exporter_port: int = 9108

    consumer_name: str = Field(default_factory=socket.gethostname)
    """Stable per instance (the pod name on Kubernetes), so its pending entries stay findable."""
    max_attempts: int = Field(5, ge=1)
    """Deliveries of one report before the aggregator dead-letters it."""
    reclaim_idle_ms: int = Field(30_000, ge=100)
    """A report pending this long is taken over by the reclaimer (must exceed a handler run)."""
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    redis_timeout_s: float = Field(1.5, gt=0)
    """Socket timeout for Redis calls: a request fails with 503 rather than hang."""
    eval_interval: float = Field(60, gt=0)
    """Seconds between evaluations of the alert rules (also run after every applied report)."""
    repeat_interval: float = Field(4 * 3600, gt=0)
    """Seconds between reminders of a still-firing alert."""
    resolve_hold: float = Field(300, ge=0)
    """Seconds an alert must stay away before it is resolved (no notification on flapping)."""
    public_url: str | None = None
    """Where people reach the API (webhook externalURL); default http://<bind>:<api_port>."""
    delivery_max_attempts: int = Field(8, ge=1)
    """Webhook attempts before a delivery is dead-lettered."""
    delivery_timeout_s: float = Field(5.0, gt=0)
    delivery_backoff_s: float = Field(1.0, gt=0)
    """First retry delay; it doubles per attempt (with jitter) up to delivery_backoff_max_s."""
    delivery_backoff_max_s: float = Field(300.0, gt=0)

    @field_validator("clock")
    @classmethod
    def _clock_parses(cls, value: str) -> str:
        parse_clock(value)
        return value

    def make_clock(self) -> Clock:
        return parse_clock(self.clock)

    @property
    def external_url(self) -> str:
        return (self.public_url or f"http://{self.bind}:{self.api_port}").rstrip("/")
