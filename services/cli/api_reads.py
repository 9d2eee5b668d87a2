"""Reads for the command-line tools that write what Pacer answers to a file (export, backfill):
one answer or one sentence saying why not, with the exit status that goes with it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from services.cli.api_client import ApiUnavailableError, PacerClient

EXIT_OK, EXIT_REFUSED, EXIT_UNAVAILABLE = 0, 2, 3


@dataclass
class ReadFailedError(Exception):
    message: str
    exit_status: int


def read(client: PacerClient, path: str, **params: str) -> bytes:
    """The body of a 200 answer to ``GET path``; anything else raises ``ReadFailedError``."""
    try:
        response = client.request("GET", path, params=params)
    except ApiUnavailableError as exc:
        raise ReadFailedError(
            f"Pacer is not answering at {client.base_url}: {exc}", EXIT_UNAVAILABLE
        ) from exc
    if response.status_code != 200:
        raise ReadFailedError(
            f"GET {path} answered {response.status_code}: {_errors(response.text)}", EXIT_REFUSED
        )
    return response.content


def read_json(client: PacerClient, path: str, **params: str) -> Any:
    return json.loads(read(client, path, **params))


def _errors(body: str) -> str:
    """The messages of the API's error body, or the start of whatever it sent."""
    try:
        errors = json.loads(body)["errors"]
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['message']}" for e in errors)
    except (ValueError, KeyError, TypeError):
        return body[:300]
