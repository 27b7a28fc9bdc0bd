"""Who is calling: the verified bearer token, as a FastAPI dependency."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from starlette.concurrency import run_in_threadpool

from app.audit.chain import ANONYMOUS, Entry
from app.audit.service import record_alone
from app.errors import ProblemError
from app.security.tokens import InvalidToken, TokenVerifier


@dataclass(frozen=True)
class Caller:
    sub: str
    agency: str
    roles: tuple[str, ...]
    org: str | None = None


async def _unauthenticated(request: Request, detail: str) -> ProblemError:
    # Failed authentication is on record too (who is unknown; the reason is not).
    rid = request.scope.get("state", {}).get("request_id")
    entry = Entry(ANONYMOUS, "authenticate", "DENY", reason=detail[:200], request_id=rid)
    await run_in_threadpool(record_alone, request.app.state.db, entry)
    return ProblemError(
        401, "Not authenticated", detail, kind="unauthenticated", headers={"WWW-Authenticate": 'Bearer realm="shield"'}
    )


async def current_caller(request: Request) -> Caller:
    """The caller named by the ``Authorization: Bearer`` header; tokens anywhere else are ignored.

    Async: checking a token is a little CPU (usually a remembered token), cheaper than a trip to
    the thread pool; only a refusal, which writes its audit row, makes that trip.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise await _unauthenticated(request, "a bearer token is required")
    verifier: TokenVerifier = request.app.state.verifier
    try:
        claims = verifier.verify(token.strip())
    except InvalidToken as exc:
        raise await _unauthenticated(request, str(exc)) from exc
    caller = Caller(sub=claims.sub, agency=claims.agency, roles=claims.roles, org=claims.org)
    request.state.caller = caller  # for the audit row of a request that fails unexpectedly
    return caller


def _needs_caller(dependant: Dependant) -> bool:
    return any(d.call is current_caller or _needs_caller(d) for d in dependant.dependencies)


async def refusal_before_body(request: Request) -> ProblemError | None:
    """The 401 this request gets if its route needs a caller and its token is missing or invalid
    (written to the audit as every refusal is); ``None`` if the caller is authenticated or the
    route needs none. For a request refused before its dependencies ran."""
    dependant: Dependant | None = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None or not _needs_caller(dependant):
        return None
    try:
        await current_caller(request)
    except ProblemError as refusal:
        return refusal
    return None


CurrentCaller = Annotated[Caller, Depends(current_caller)]
