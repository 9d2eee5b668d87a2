"""Webhook delivery: one signed, retried POST per group of notifications and subscriber.

``fan_out`` turns an alerts-stream entry into pending deliveries (atomically with its XACK);
``DeliveryWorker`` sends the due ones. Everything about a delivery lives in Redis, kept by
``shared.store.deliveries``.
"""

from services.alerting.delivery.fanout import FanOut, fan_out
from services.alerting.delivery.metrics import DeliveryMetrics
from services.alerting.delivery.worker import DeliveryWorker

__all__ = ["DeliveryMetrics", "DeliveryWorker", "FanOut", "fan_out"]
