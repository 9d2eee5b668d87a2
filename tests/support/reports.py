"""Builders of valid report bodies, so each test states only what it changes."""

from __future__ import annotations

from typing import Any


def site(site_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "site_id": site_id,
        "operator": "china_mobile",
        "status": "in_service",
        "commissioned_on": "2024-07-01",
        "lat": 36.65,
        "lon": 117.12,
    }
    return body | overrides


def sites_report(*sites: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"period": "2024-07", "as_of": "2024-07-10", "sites": list(sites)}
    return body | overrides


def gigabit_report(indicators: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"period": "2024-07", "as_of": "2024-07-10", "indicators": indicators}
    return body | overrides


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
