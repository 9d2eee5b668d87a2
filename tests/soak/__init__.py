"""A load and chaos soak: `make soak` (or `python -m tests.soak --help`), and a short variant in
tests/e2e/test_soak.py.

Concurrent city clients submit reports to a private Pacer while its aggregator and alerting
service are killed with SIGKILL and Redis is restarted; afterwards every report answered 202 must
be applied exactly once, nothing may be stuck, the active alerts must be the ones the final state
implies, and no alert transition may have been notified twice.
"""
