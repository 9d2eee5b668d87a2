"""Request body size limit, enforced while the body streams in (a lying Content-Length too).

The gateway (``services.ingest.gateway``) applies it: a declared length over the limit is refused
before the body is read, and a body that grows past it raises ``BodyTooLargeError`` from
``receive``.
"""

from __future__ import annotations

import json

from starlette.types import Send


class BodyTooLargeError(Exception):
    pass


class BodyLimit:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        # The answer depends only on the limit: encoded once, not per refused request.
        self._body = json.dumps(
            {
                "errors": [
                    {
                        "loc": ["body"],
                        "code": "payload_too_large",
                        "message": f"the body exceeds {max_bytes} bytes; split the report",
                    }
                ]
            }
        ).encode()

    def declared_too_large(self, content_length: bytes | None) -> bool:
        return (
            content_length is not None
            and content_length.isdigit()
            and int(content_length) > self.max_bytes
        )

    async def reject(self, send: Send) -> None:
        """413, closing the connection: the rest of the body is not read."""
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(self._body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": self._body})
