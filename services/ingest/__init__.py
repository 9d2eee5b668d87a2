"""The ingest service: the HTTP API cities submit reports to, and where anyone reads progress."""
