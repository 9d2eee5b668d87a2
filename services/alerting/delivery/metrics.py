"""Delivery metrics, registered on the service's registry."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

OUTCOMES = ("delivered", "retried", "dead")


@dataclass(frozen=True)
class DeliveryMetrics:
    outcomes: Counter
    seconds: Histogram

    @classmethod
    def register(cls, registry: CollectorRegistry) -> DeliveryMetrics:
        outcomes = Counter(
            "pacer_webhook_deliveries",
            "Webhook attempts by outcome: delivered (2xx), retried (will try again), dead "
            "(dead-lettered after the last attempt).",
            ["outcome"],
            registry=registry,
        )
        for outcome in OUTCOMES:
            outcomes.labels(outcome)
        seconds = Histogram(
            "pacer_webhook_delivery_seconds",
            "Duration of one webhook attempt, until the response or the timeout.",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        return cls(outcomes, seconds)
