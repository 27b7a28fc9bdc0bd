"""Who is calling: the verified bearer token, as a FastAPI dependency."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
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


CurrentCaller = Annotated[Caller, Depends(current_caller)]
