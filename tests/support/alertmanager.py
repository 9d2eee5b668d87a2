"""A real prometheus-alertmanager process on loopback, stopped by pid."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.processes import free_port, require_binary, stop_process, wait_until


@dataclass
class Alertmanager:
    directory: Path
    config: dict[str, Any]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Alertmanager:
        binary = require_binary("prometheus-alertmanager")
        self.directory.mkdir(parents=True, exist_ok=True)
        config_file = self.directory / "alertmanager.yml"
        config_file.write_text(yaml.safe_dump(self.config))
        log = (self.directory / "alertmanager.log").open("wb")
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={config_file}",
                f"--storage.path={self.directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",  # no gossip on :9094 on every interface
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until(lambda: httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200, 15)
        return self

    def alerts(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/api/v2/alerts", timeout=5)
        response.raise_for_status()
        alerts: list[dict[str, Any]] = response.json()
        return alerts

    def stop(self) -> None:
        stop_process(self.process)
