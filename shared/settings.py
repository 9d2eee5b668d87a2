"""Pacer's configuration: environment variables prefixed ``PACER_``, read once per process."""

from __future__ import annotations

import ipaddress
import logging
import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.clock import Clock, parse_clock
from shared.store.redis_url import parse_sentinel_url
from shared.webhook_policy import AllowList


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PACER_", extra="ignore")

    redis_url: str = "redis://127.0.0.1:6379/0"
    """A server (redis://, rediss://, unix://) or Redis Sentinels naming the primary:
    redis+sentinel://host:port[,host:port...]/<service-name>/<db> (``shared.store.redis_url``)."""
    redis_min_replicas: int = Field(0, ge=0)
    """Replicas that must hold a report (WAIT) before ingest answers 202, else 503 + Retry-After;
    the alerting service sends a webhook only for a transition that many replicas hold. 0: no
    wait (a failover may lose the last writes the replica had not received)."""
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
    portal_port: int = 8003

    api_url: str | None = None
    """Where the portal (and the command-line tools) reach the ingest API; default
    http://127.0.0.1:<api_port> (the ingest's own address when it binds one)."""
    portal_max_upload_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    """The largest file the portal takes (a 10,000-site CSV is about 0.8 MB, its XLSX 0.4 MB)."""
    portal_session_idle_s: float = Field(8 * 3600, gt=0)
    """A portal session unused this long is signed out."""
    portal_secure_cookies: bool = False
    """Mark the portal's cookies Secure: set it when people reach the portal over HTTPS."""

    consumer_name: str = Field(default_factory=socket.gethostname)
    """Stable per instance (the pod name on Kubernetes), so its pending entries stay findable."""
    max_attempts: int = Field(5, ge=1)
    """Deliveries of one report before the aggregator dead-letters it."""
    reclaim_idle_ms: int = Field(30_000, ge=100)
    """A report pending this long is taken over by the reclaimer (must exceed a handler run)."""
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    max_backlog: int = Field(10_000, ge=0)
    """Reports waiting to be applied (the reports stream's lag + pending for its slowest group)
    at which ingest refuses new ones with 503 + Retry-After, storing nothing; 0: no bound."""
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
    rate_limit_rps: float = Field(50.0, ge=0)
    """Requests per second sustained per API token (per client address without a valid token),
    per ingest instance; 0 turns the limit off."""
    rate_limit_burst: int = Field(500, ge=1)
    """Requests a token may send at once before the sustained rate applies."""
    request_header_timeout_s: float = Field(10.0, gt=0)
    """A connection must send a whole request head within this (slowloris)."""
    request_body_timeout_s: float = Field(60.0, gt=0)
    """The body must have arrived this long after the request head, else 408."""
    request_timeout_s: float = Field(30.0, gt=0)
    """An answer must be ready this long after the body arrived, else 503 (retry)."""
    webhook_allowed_hosts: str = ""
    """Comma-separated host names, addresses and CIDRs webhooks may reach though internal."""
    trusted_proxies: str = ""
    """Comma-separated addresses and CIDRs of the reverse proxies in front of the ingest: only a
    request from one of them has its client address taken from ``X-Forwarded-For`` (for the
    per-address rate limit). Empty: the header is ignored, whoever sends it."""
    log_level: str = "INFO"
    """DEBUG adds FastStream's lines (two per stream entry) and the HTTP clients' requests; INFO
    is a line per report in each service, alert notifications and problems; WARNING problems."""
    log_format: Literal["text", "json"] = "text"
    """json: one JSON object per line (time, level, logger, service, message, report, ...)."""
    report_due_soon_days: int = Field(0, ge=0, le=27)
    """ReportDueSoon (severity info) from this many days before the due day while a city's
    report of the month is missing; 0: no such notices."""

    @field_validator("redis_url")
    @classmethod
    def _redis_url_parses(cls, value: str) -> str:
        parse_sentinel_url(value)
        return value

    @field_validator("clock")
    @classmethod
    def _clock_parses(cls, value: str) -> str:
        parse_clock(value)
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level_known(cls, value: str) -> str:
        level = value.strip().upper()
        if not isinstance(logging.getLevelNamesMapping().get(level), int) or level == "NOTSET":
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("webhook_allowed_hosts")
    @classmethod
    def _allow_list_parses(cls, value: str) -> str:
        AllowList.parse(value)
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        parse_trusted_proxies(value)
        return value

    @property
    def trusted_proxy_list(self) -> tuple[str, ...]:
        return parse_trusted_proxies(self.trusted_proxies)

    @property
    def webhook_allow_list(self) -> AllowList:
        return AllowList.parse(self.webhook_allowed_hosts)

    def make_clock(self) -> Clock:
        return parse_clock(self.clock)

    @property
    def ingest_url(self) -> str:
        if self.api_url:
            return self.api_url.rstrip("/")
        host = "127.0.0.1" if self.bind in ("0.0.0.0", "::", "") else self.bind
        return f"http://{host}:{self.api_port}"

    @property
    def external_url(self) -> str:
        return (self.public_url or f"http://{self.bind}:{self.api_port}").rstrip("/")


def parse_trusted_proxies(spec: str) -> tuple[str, ...]:
    """``"10.0.0.5, 10.1.0.0/16"`` -> the networks, normalised; raises ValueError on anything
    else (a host name or ``*`` would trust whoever can claim it)."""
    networks: list[str] = []
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        try:
            networks.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            raise ValueError(f"{entry!r} is not an address or a CIDR network") from None
    return tuple(networks)
