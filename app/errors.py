"""RFC 9457 problem responses, for every error the service returns."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.audit.chain import Entry
from app.audit.limits import ReadLimitExceeded
from app.audit.service import actor_of, record_alone, refuse_read

log = logging.getLogger("shield.errors")

# What a 503 from a database that did not answer tells the client to wait before trying again.
DATABASE_RETRY_AFTER_SECONDS = 2
PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "urn:shield:problem:"


@dataclass(frozen=True)
class FieldError:
    """One invalid field: its path in the request body and what is wrong with it."""

    path: tuple[str | int, ...]
    message: str

    @property
    def pointer(self) -> str:
        """JSON Pointer (RFC 6901) in the fragment form RFC 9457's examples use."""
        parts = (str(p).replace("~", "~0").replace("/", "~1") for p in self.path)
        return "#/" + "/".join(parts)

    @property
    def field(self) -> str:
        return ".".join(str(p) for p in self.path)

    def as_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "field": self.field, "detail": self.message}


@dataclass
class ProblemError(Exception):
    """An error the client can act on, rendered as application/problem+json."""

    status: int
    title: str
    detail: str | None = None
    kind: str = "about:blank"
    errors: Sequence[FieldError] = ()
    headers: dict[str, str] = field(default_factory=dict)

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.kind if self.kind.startswith(("about:", "urn:", "http")) else PROBLEM_BASE + self.kind,
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        return body


def validation_problem(errors: Iterable[FieldError], title: str = "The request is not valid") -> ProblemError:
    errs = list(errors)
    detail = "; ".join(f"{e.field or '(body)'}: {e.message}" for e in errs[:5])
    if len(errs) > 5:
        detail += f"; and {len(errs) - 5} more"
    return ProblemError(422, title, detail, kind="validation-error", errors=errs)


# A field name longer than this is shortened where an error names it: an unknown key is the
# sender's own text, a megabyte of it or a value put where a name belongs.
FIELD_NAME_SHOWN = 64


def pydantic_errors(
    errors: Iterable[dict[str, Any]], strip: int = 0, unknown: str = "not part of this record type"
) -> list[FieldError]:
    """Turn Pydantic's error list into field errors, dropping ``strip`` leading path parts;
    ``unknown`` says what an unknown field is not part of."""
    out = []
    for err in errors:
        loc = tuple(_shown(part) for part in tuple(err.get("loc", ()))[strip:])
        msg = err.get("msg", "invalid")
        if err.get("type") == "extra_forbidden":
            msg = f"unknown field: {unknown}"
        elif err.get("type") == "missing":
            msg = "required field is missing"
        elif err.get("type") == "timezone_aware":
            msg = "datetime must include a timezone offset (e.g. Z or +01:00)"
        elif msg.startswith("Value error, "):
            msg = msg.removeprefix("Value error, ")
        out.append(FieldError(loc, msg))
    return out


def _shown(part: str | int) -> str | int:
    if isinstance(part, str) and len(part) > FIELD_NAME_SHOWN:
        return part[: FIELD_NAME_SHOWN - 1] + "…"
    return part


def request_id(request: Request) -> str | None:
    rid = request.scope.get("state", {}).get("request_id")
    return f"urn:uuid:{rid}" if rid else None


def problem_response(problem: ProblemError, instance: str | None) -> JSONResponse:
    return JSONResponse(
        problem.body(instance), status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers or None
    )


_STATUS_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "The request is not valid",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def install_handlers(app: FastAPI, authenticate_first: Callable[[Request], Awaitable[ProblemError | None]]) -> None:
    """``authenticate_first``: the refusal, if any, that a request's route gives a caller without a
    valid token; a body that is not JSON is answered only after it."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(exc, request_id(request))

    @app.exception_handler(ReadLimitExceeded)
    async def _read_limit(request: Request, exc: ReadLimitExceeded) -> JSONResponse:
        # The read rolled back; the refusal and the privacy officer's alert are written now.
        rid = request.scope.get("state", {}).get("request_id")
        await run_in_threadpool(refuse_read, request.app.state.db, exc, rid)
        if len(exc.children) > exc.limit:  # waiting will not help: say what will
            detail = (
                f"this request would show {len(exc.children)} different children, more than the limit of "
                f"{exc.limit} an hour; ask for fewer at a time (a smaller page). The privacy officer has been told."
            )
        else:
            detail = (
                f"you have been shown {exc.already} different children in the last hour, and the limit is "
                f"{exc.limit}; the privacy officer has been told. Try again later or ask them to review."
            )
        problem = ProblemError(
            429,
            "Too many children read",
            detail,
            kind="read-limit",
            headers={"Retry-After": str(exc.retry_after)},
        )
        return problem_response(problem, request_id(request))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return await _malformed(request)
        # FastAPI prefixes locations with "body"/"query"/"path"; the body prefix means nothing to a client.
        fields = [
            FieldError(f.path[1:] if f.path[:1] == ("body",) else f.path, f.message) for f in pydantic_errors(errors)
        ]
        return problem_response(validation_problem(fields), request_id(request))

    async def _malformed(request: Request) -> JSONResponse:
        # FastAPI parses the body before it runs the route's dependencies, authentication
        # among them: an anonymous caller would learn the body was wrong, and leave no trace.
        refusal = await authenticate_first(request)
        if refusal is not None:
            return problem_response(refusal, request_id(request))
        problem = ProblemError(400, "Malformed JSON", "the request body is not valid JSON", kind="malformed-json")
        return problem_response(problem, request_id(request))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == _UNPARSED_BODY:
            return await _malformed(request)  # not UTF-8 (a Latin-1 or gzipped body): malformed JSON too
        title = _STATUS_TITLES.get(exc.status_code, "Error")
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
        kind = "body-too-large" if exc.status_code == 413 else "about:blank"
        problem = ProblemError(exc.status_code, title, detail, kind=kind, headers=dict(exc.headers or {}))
        return problem_response(problem, request_id(request))

    @app.exception_handler(DBAPIError)
    async def _database_unavailable(request: Request, exc: DBAPIError) -> JSONResponse:
        # The database restarting or failing over, or (SQLite) a write lock held past the busy
        # timeout: the service is unavailable for a moment, not broken. Nothing went out, and the
        # audit is in the same database, so there is nothing to record it in. The pool has
        # already replaced a connection the database closed. Any other database error is a bug.
        if not (isinstance(exc, OperationalError) or exc.connection_invalidated):
            return await _unexpected(request, exc)
        log.warning(
            "database unavailable (%s) on %s %s",
            type(exc.orig).__name__,
            request.method,
            request.url.path,
            extra={"request_id": request_id(request)},
        )
        problem = ProblemError(
            503,
            "Database unavailable",
            "the database did not answer; try again shortly",
            kind="database-unavailable",
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
        return problem_response(problem, request_id(request))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The log carries the exception type and request id only: messages can hold personal data.
        _audit_error(request, exc)
        log.error(
            "unhandled %s on %s %s",
            type(exc).__name__,
            request.method,
            request.url.path,
            extra={"request_id": request_id(request)},
        )
        problem = ProblemError(500, "Internal server error", "the error has been logged with this request's id")
        return problem_response(problem, request_id(request))


def _audit_error(request: Request, exc: Exception) -> None:
    """An unexpected failure is on the audit record too (fail closed: no data went out)."""
    route = request.scope.get("route")
    action = getattr(route, "name", None) or "unknown"
    try:
        record_alone(
            request.app.state.db,
            Entry(
                actor_of(getattr(request.state, "caller", None)),
                action[:40],
                "ERROR",
                reason=type(exc).__name__[:200],
                request_id=request.scope.get("state", {}).get("request_id"),
            ),
        )
    except Exception as audit_exc:  # noqa: BLE001 - the response is already an error; say so in the log
        log.error("could not audit an error: %s", type(audit_exc).__name__)


# ---- The errors in the OpenAPI document ----------------------------------------------------------


class ProblemFieldError(BaseModel):
    pointer: str
    field: str
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem details, the body of every error response."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[ProblemFieldError] | None = None


_DESCRIPTIONS = {
    400: "Malformed request: invalid JSON, or no X-Access-Purpose header where a read needs one",
    401: "No valid bearer token",
    403: "The caller's role may not do this, or not for the stated purpose",
    404: "Not found, or outside the caller's scope (the two look the same)",
    409: "Conflicts with what is already stored",
    413: "Request body too large",
    415: "Content-Type is not application/json",
    422: "Invalid request; `errors` names each field",
    429: "Too many different children read in the last hour; see Retry-After",
    503: "The database did not answer; try again after Retry-After seconds",
}
_PROBLEM_SCHEMA = {"$ref": "#/components/schemas/Problem"}
_RETRY_AFTER = {429: "Seconds until the read would be allowed", 503: "Seconds to wait before trying again"}


def problem_responses(*statuses: int, described: dict[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status as an application/problem+json ``Problem``.

    ``problem_responses(401, 403, 404, described={404: "No such child"})`` overrides a description.
    """
    described = described or {}
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        out[status] = {
            "description": described.get(status, _DESCRIPTIONS.get(status, _STATUS_TITLES.get(status, "Error"))),
            "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}},
        }
        if status in _RETRY_AFTER:
            out[status]["headers"] = {
                "Retry-After": {"description": _RETRY_AFTER[status], "schema": {"type": "integer"}}
            }
    return out


# Statuses the request guard returns before any route runs (app/middleware.py).
_GUARD_STATUSES = {"get": (413,), "post": (413, 415), "put": (413, 415), "patch": (413, 415), "delete": (413,)}
# Every operation that reads or writes the database can find it unavailable (503).
_WITHOUT_DATABASE = {"/healthz"}
# FastAPI's answer to a body it could not decode before parsing it as JSON.
_UNPARSED_BODY = "There was an error parsing the body"
# Everything else needs a bearer token: declared, so that the docs page's "Authorize" takes one and
# "Try it out" sends it (without the scheme the page had nowhere to put a token: every try was 401).
_WITHOUT_TOKEN = {"/healthz", "/readyz"}
BEARER = {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}


def install_openapi(app: FastAPI) -> None:
    """Generate the OpenAPI document with the ``Problem`` schema, the guard's statuses on every
    operation and 503 on every one that uses the database, so that the document lists every status
    the app can return."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            doc.setdefault("components", {})["securitySchemes"] = BEARER
            doc["security"] = [{"bearerAuth": []}]
            schemas = doc["components"].setdefault("schemas", {})
            problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(problem.pop("$defs", {}))
            schemas["Problem"] = problem
            for path, operations in doc.get("paths", {}).items():
                for method, operation in operations.items():
                    if path in _WITHOUT_TOKEN:
                        operation["security"] = []
                    responses = operation.setdefault("responses", {})
                    statuses = _GUARD_STATUSES.get(method, ()) + (() if path in _WITHOUT_DATABASE else (503,))
                    for status in statuses:
                        responses.setdefault(str(status), problem_responses(status)[status])
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
