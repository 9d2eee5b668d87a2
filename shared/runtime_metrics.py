"""What every service's ``/metrics`` says about the process itself, beside Pacer's own metrics.

- ``process_*`` (CPU seconds, resident and virtual memory, open and maximum file descriptors,
  start time: ``prometheus_client``'s process collector, from ``/proc``);
- ``python_info`` (the interpreter);
- ``pacer_build_info{version,revision}`` 1, the build that runs (``shared.build_info``), so a
  dashboard or an alert can tell which version each instance runs.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from shared.build_info import BuildInfo, build_info

BUILD_INFO = "pacer_build_info"


class BuildInfoCollector(Collector):
    def __init__(self, build: BuildInfo) -> None:
        self._build = build

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            BUILD_INFO,
            "Always 1: the Pacer version and source revision this process runs.",
            labels=["version", "revision"],
        )
        family.add_metric([self._build.version, self._build.revision], 1)
        yield family


def service_registry(build: BuildInfo | None = None) -> CollectorRegistry:
    """A registry for one service's ``/metrics``, holding the process families already."""
    registry = CollectorRegistry()
    register_runtime(registry, build)
    return registry


def register_runtime(registry: CollectorRegistry, build: BuildInfo | None = None) -> None:
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    registry.register(BuildInfoCollector(build or build_info()))


def runtime_families(build: BuildInfo | None = None) -> list[Metric]:
    """The same families collected now, for a service that renders its own exposition."""
    registry = service_registry(build)
    return list(registry.collect())
