"""Structured logs: one JSON object per line, and one access line per request.

Log lines carry ids, route templates and numbers, never request bodies, query strings or
exception messages: a message can quote a value from a record (a database error quotes its
parameters), and these logs leave the service for a log platform with wider access than the data.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Protocol

# Set by the request guard when it names the request, so that every line logged while serving it
# (in the endpoint's thread too: the thread runs in a copy of the request's context) carries it.
request_id_var: ContextVar[str | None] = ContextVar("shield_request_id", default=None)

_REQUEST_FIELDS = ("request_id", "method", "route", "status", "duration_ms")
access_log = logging.getLogger("shield.access")


class JSONFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "request_id", ...}``; JSON escaping also stops a
    CR/LF in any value from forging a second line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _REQUEST_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                out[name] = value
        out.setdefault("request_id", request_id_var.get())
        if record.exc_info and record.exc_info[0] is not None:
            # Where it failed, not what it said: the frames are code, the message may be data.
            out["exc_type"] = record.exc_info[0].__name__
            out["stack"] = "".join(traceback.format_tb(record.exc_info[2]))
        return json.dumps(out, ensure_ascii=True, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Send every logger (uvicorn's too) to stderr as JSON lines. Called by ``shield serve``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Our access line (``RequestLog``) replaces uvicorn's, which would log query strings: off here
    # too, for a server started as ``uvicorn --factory`` without ``--no-access-log``.
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers[:] = []
    uvicorn_access.disabled = True


class Observer(Protocol):
    def request(self, route: str, method: str, status: int, seconds: float) -> None: ...


def route_of(scope: dict[str, Any]) -> str:
    """The matched route's template; unmatched paths are one label, because a mistyped URL can hold anything."""
    route = scope.get("route")
    return getattr(route, "path", None) or "(unmatched)"


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_of(scope: dict[str, Any]) -> str:
    """The request's method, or ``OTHER``: HTTP allows any token as a method, and each new one made
    a metrics series kept for the life of the process (20,000 made-up methods: 376 MB a scrape)."""
    method = scope["method"]
    return method if method in _METHODS else "OTHER"


class RequestLog:
    """Outermost ASGI layer: one access line per request, including those the guard refuses."""

    def __init__(self, app: Any, observer: Observer | None = None) -> None:
        self.app = app
        self.observer = observer

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before it starts a response

        async def capture(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            seconds = time.perf_counter() - started
            route, method = route_of(scope), method_of(scope)
            access_log.info(
                "%s %s %d",
                method,
                route,
                status,
                extra={
                    "request_id": scope.get("state", {}).get("request_id"),
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )
            if self.observer is not None:
                self.observer.request(route, method, status, seconds)
            request_id_var.set(None)
