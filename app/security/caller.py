"""Who is calling: the verified bearer token, as a FastAPI dependency."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from app.errors import ProblemError
from app.security.tokens import InvalidToken, TokenVerifier


@dataclass(frozen=True)
class Caller:
    sub: str
    agency: str
    roles: tuple[str, ...]
    org: str | None = None


def _unauthenticated(detail: str) -> ProblemError:
    return ProblemError(
        401, "Not authenticated", detail, kind="unauthenticated", headers={"WWW-Authenticate": 'Bearer realm="shield"'}
    )


def current_caller(request: Request) -> Caller:
    """The caller named by the ``Authorization: Bearer`` header; tokens anywhere else are ignored."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated("a bearer token is required")
    verifier: TokenVerifier = request.app.state.verifier
    try:
        claims = verifier.verify(token.strip())
    except InvalidToken as exc:
        raise _unauthenticated(str(exc)) from exc
    return Caller(sub=claims.sub, agency=claims.agency, roles=claims.roles, org=claims.org)


CurrentCaller = Annotated[Caller, Depends(current_caller)]
