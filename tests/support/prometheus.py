"""A real ``prometheus`` process on loopback that scrapes given targets, stopped by pid.

    config = scrape_config({"pacer-exporter": [exporter.port]})
    with Prometheus(tmp_path / "prometheus", config) as prometheus:
        rows = prometheus.wait_for_data('pacer:province_5g_sites_new:sum{program="5g-2025"}')

Scrape and rule evaluation run every second, and the repository's rule files are loaded, so
recording rules and pipeline alerts are queryable a few seconds after start.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import yaml

from tests.support.processes import REPO_ROOT, free_port, require_binary, stop_process

PROMETHEUS_DIR = REPO_ROOT / "deploy" / "prometheus"
CONFIG_FILE = PROMETHEUS_DIR / "prometheus.yml"
RULE_FILES = (
    PROMETHEUS_DIR / "rules" / "pacer-recording.yml",
    PROMETHEUS_DIR / "rules" / "pacer-pipeline.yml",
)
JOBS = ("pacer-ingest", "pacer-aggregator", "pacer-alerting", "pacer-exporter")
"""The scrape job names of the pipeline's services (rules and dashboards select on them)."""
SCRAPED_JOBS = (*JOBS, "pacer-portal")
"""Every job the deployments scrape: the pipeline's, and the portal (people's pages)."""


def scrape_config(
    targets: Mapping[str, int | Iterable[int]],
    *,
    interval: str = "1s",
    rule_files: Iterable[Path] = RULE_FILES,
    alertmanager_port: int | None = None,
) -> dict[str, Any]:
    """A Prometheus config scraping ``job name -> loopback port(s)`` with the repo's rule files.

    Use the names in ``JOBS`` for Pacer's services. ``alertmanager_port`` sends the pipeline
    alerts to an Alertmanager on that loopback port.
    """
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [
            {
                "job_name": job,
                "static_configs": [
                    {"targets": [f"127.0.0.1:{port}" for port in _ports(ports)]},
                ],
            }
            for job, ports in targets.items()
        ],
    }
    if alertmanager_port is not None:
        config["alerting"] = {
            "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]}]
        }
    return config


def _ports(ports: int | Iterable[int]) -> list[int]:
    return [ports] if isinstance(ports, int) else list(ports)


class QueryError(RuntimeError):
    """Prometheus refused a query (a PromQL syntax error, an unknown function...)."""


@dataclass
class Prometheus:
    directory: Path
    config: dict[str, Any]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    flags: tuple[str, ...] = ()
    """More command-line flags, e.g. a retention that keeps backfilled blocks."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        """The TSDB directory (where backfilled blocks go before ``start``)."""
        return self.directory / "data"

    @property
    def log_path(self) -> Path:
        return self.directory / "prometheus.log"

    def start(self) -> Prometheus:
        binary = require_binary("prometheus")
        self.directory.mkdir(parents=True, exist_ok=True)
        config_file = self.directory / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(self.config, sort_keys=False))
        with self.log_path.open("wb") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config_file}",
                    f"--storage.tsdb.path={self.data_dir}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    *self.flags,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 20
        while not self._ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited: {self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"prometheus not ready in 20 s: {self.log_tail()}")
            time.sleep(0.1)
        return self

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def __enter__(self) -> Prometheus:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """The instant query's result: ``[{"metric": {...}, "value": [ts, "v"]}, ...]``, now or
        ``at`` (Unix seconds).

        A scalar result comes back as one row with empty ``metric``; a bad query raises
        ``QueryError`` with Prometheus's message.
        """
        params: dict[str, str | float] = {"query": expr}
        if at is not None:
            params["time"] = at
        response = httpx.get(f"{self.url}/api/v1/query", params=params, timeout=10)
        body = response.json()
        if body.get("status") != "success":
            raise QueryError(f"{expr!r}: {body.get('errorType')}: {body.get('error')}")
        data = body["data"]
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        rows: list[dict[str, Any]] = data["result"]
        return rows

    def wait_for_data(self, expr: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Polls ``expr`` until it returns at least one row; on timeout says what was scraped."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.query(expr)
            if rows:
                return rows
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"no data for {expr!r} in {timeout}s; targets: {self.target_health()}"
                )
            time.sleep(0.25)

    def target_health(self) -> list[dict[str, str]]:
        """Each active target's job, URL, health and last scrape error."""
        response = httpx.get(f"{self.url}/api/v1/targets", timeout=10)
        response.raise_for_status()
        return [
            {
                "job": target["labels"].get("job", ""),
                "url": target["scrapeUrl"],
                "health": target["health"],
                "error": target["lastError"],
            }
            for target in response.json()["data"]["activeTargets"]
        ]

    def rule_groups(self) -> list[dict[str, Any]]:
        """``/api/v1/rules``: the loaded groups with each rule's health, state and alerts."""
        response = httpx.get(f"{self.url}/api/v1/rules", timeout=10)
        response.raise_for_status()
        groups: list[dict[str, Any]] = response.json()["data"]["groups"]
        return groups

    def log_tail(self, characters: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-characters:]
        except FileNotFoundError:
            return ""
