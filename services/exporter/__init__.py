"""The exporter: Pacer's progress as Prometheus gauges, read from Redis at every scrape.

It holds no state of its own, so any number of replicas return the same numbers.
"""
