"""Request guard, as plain ASGI so it costs almost nothing per request.

It gives every request an id (echoed as ``X-Request-ID``), marks every response
``Cache-Control: no-store`` (responses carry children's personal data), refuses bodies over the
configured size (413) and write requests that are not JSON (415).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import HTTPException

from app.errors import PROBLEM_JSON, ProblemError
from app.logs import request_id_var

_WRITE_METHODS = {"POST", "PUT", "PATCH"}


class RequestGuard:
    def __init__(self, app: Any, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = uuid.uuid4()
        scope.setdefault("state", {})["request_id"] = str(rid)
        request_id_var.set(str(rid))
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"x-request-id", str(rid).encode()), (b"cache-control", b"no-store")]
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                message = {**message, "headers": kept + extra}
            await send(message)

        problem = self._refuse(scope["method"], headers)
        if problem is not None:
            await self._problem(problem, f"urn:uuid:{rid}", send_with_headers)
            return

        limit = self.max_body_bytes
        received = 0

        async def limited_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # FastAPI re-raises its own HTTPException from body reading (anything else
                    # becomes a 400), and the app's handler renders it as a problem.
                    raise HTTPException(413, f"the limit is {limit} bytes")
            return message

        await self.app(scope, limited_receive, send_with_headers)

    def _refuse(self, method: str, headers: dict[str, str]) -> ProblemError | None:
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return ProblemError(400, "Bad request", "Content-Length is not a number")
            if int(length) > self.max_body_bytes:
                return ProblemError(
                    413, "Request body too large", f"the limit is {self.max_body_bytes} bytes", kind="body-too-large"
                )
        if method in _WRITE_METHODS:
            media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
                return ProblemError(
                    415, "Unsupported media type", "send the body as application/json", kind="unsupported-media-type"
                )
        return None

    @staticmethod
    async def _problem(problem: ProblemError, instance: str, send: Any) -> None:
        body = json.dumps(problem.body(instance)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": problem.status,
                "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
