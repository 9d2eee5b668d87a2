"""Reading Prometheus exposition text in tests, and checking it with promtool."""

from __future__ import annotations

import subprocess

from prometheus_client.parser import text_string_to_metric_families

from tests.support.processes import require_binary

Samples = dict[str, dict[frozenset[tuple[str, str]], float]]
"""sample name (``x_total``, ``x_bucket``...) -> label set -> value."""


def parse_samples(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            by_labels = samples.setdefault(sample.name, {})
            by_labels[frozenset(sample.labels.items())] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[name][frozenset(labels.items())]


def promtool_check_metrics(body: str) -> subprocess.CompletedProcess[str]:
    """``promtool check metrics`` on the exposition text (a missing promtool fails under CI)."""
    promtool = require_binary("promtool")
    return subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=30
    )
