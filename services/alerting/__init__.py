"""The alerting service: evaluates the alert rules and notifies subscribers and Alertmanager."""
