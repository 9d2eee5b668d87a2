"""The portal's only way into Pacer: the ingest's HTTP API, called with the signed-in person's
token. Nothing here logs a token or a URL with one (the token travels in a header only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from shared.domain.state import ReportKind


class ApiUnavailableError(RuntimeError):
    """The API did not answer (or answered 5xx): the page says so and asks to try again."""


class SignedOutError(RuntimeError):
    """The API no longer knows the token (401): the session ends."""


class ForbiddenError(RuntimeError):
    """The token may not do this (403)."""


class NotFoundError(RuntimeError):
    """No such city or report (404)."""


@dataclass(frozen=True)
class Answer:
    """A submission's answer: its status code and JSON body."""

    status: int
    body: Any


class PacerApi:
    """One shared connection pool; every call names the caller's token."""

    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout_s,
            headers={"User-Agent": "pacer-portal"},
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(
                method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs
            )
        except httpx.HTTPError as exc:
            raise ApiUnavailableError(type(exc).__name__) from None
        if response.status_code == 401:
            raise SignedOutError()
        if response.status_code >= 500 or response.status_code == 429:
            raise ApiUnavailableError(f"HTTP {response.status_code}")
        return response

    async def _get(self, path: str, token: str, **params: Any) -> Any:
        response = await self._call("GET", path, token, params=params or None)
        if response.status_code == 403:
            raise ForbiddenError()
        if response.status_code == 404:
            raise NotFoundError()
        if response.status_code != 200:
            raise ApiUnavailableError(f"HTTP {response.status_code}")
        return response.json()

    async def me(self, token: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self._get("/v1/me", token)
        return answer

    async def progress(self, token: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self._get("/v1/progress", token)
        return answer

    async def city_progress(self, token: str, city: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self._get(f"/v1/cities/{city}/progress", token)
        return answer

    async def city_history(self, token: str, city: str, program: str) -> Any:
        """The programme's monthly history (contract §6); None where the API has none."""
        try:
            return await self._get(f"/v1/cities/{city}/history", token, program=program)
        except NotFoundError:
            return None

    async def alerts(self, token: str) -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = await self._get("/v1/alerts", token)
        return answer

    async def reports(self, token: str, city: str, limit: int = 20) -> list[dict[str, Any]]:
        page = await self._get(f"/v1/cities/{city}/reports", token, limit=limit)
        reports: list[dict[str, Any]] = page.get("reports", [])
        return reports

    async def report(self, token: str, city: str, report_id: str) -> dict[str, Any] | None:
        try:
            answer: dict[str, Any] = await self._get(
                f"/v1/cities/{city}/reports/{report_id}", token
            )
        except NotFoundError:
            return None
        return answer

    async def submit(
        self, token: str, city: str, kind: ReportKind, body: dict[str, Any], dry_run: bool
    ) -> Answer:
        """POST a report; 2xx, 403, 409, 413 and 422 come back as they are."""
        response = await self._call(
            "POST",
            f"/v1/cities/{city}/reports/{kind}",
            token,
            json=body,
            params={"dry_run": "true"} if dry_run else None,
        )
        try:
            content = response.json()
        except ValueError:
            content = {}
        return Answer(response.status_code, content)

    async def ready(self) -> dict[str, str]:
        """The readiness check: the API answers its own /readyz."""
        try:
            response = await self._http.get("/readyz", timeout=3)
        except httpx.HTTPError as exc:
            return {"api": f"{type(exc).__name__}"}
        if response.status_code != 200:
            return {"api": f"/readyz answered {response.status_code}"}
        return {}
