"""The FastAPI face of the policy engine: ``Authorized("action")`` on every endpoint that reads."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

from fastapi import Depends, Header, Request

from app.audit.chain import Entry
from app.audit.service import actor_of, record_alone
from app.db import utc_now
from app.errors import FieldError, ProblemError, validation_problem
from app.policy.engine import Access, Denied, authorize_action
from app.security.caller import CurrentCaller

log = logging.getLogger("shield.policy")

_TITLES = {400: "Purpose of access required", 403: "Forbidden", 404: "Not found", 422: "The request is not valid"}


def denial(status: int, detail: str) -> ProblemError:
    return ProblemError(status, _TITLES.get(status, "Forbidden"), detail, kind="access-denied")


def _utf8(header: str | None) -> str | None:
    """A header as the client wrote it: HTTP hands header bytes over as Latin-1, and clients send
    UTF-8 ("A&E — bleeding" became "A&E \xe2\x80\x94 bleeding"). Bytes that are not UTF-8 stay
    Latin-1, as sent."""
    if header is None:
        return None
    try:
        return header.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return header


def _child_in_path(request: Request) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(request.path_params["child_id"]))
    except (KeyError, ValueError):
        return None


def Authorized(action: str):  # noqa: N802 - reads as a type in signatures, like FastAPI's own
    """A dependency that admits the caller for ``action`` or refuses (and audits the refusal)."""

    def dependency(
        request: Request,
        caller: CurrentCaller,
        x_access_purpose: Annotated[
            str | None, Header(description="Why you are accessing this data (a purpose your role may state)")
        ] = None,
        x_break_glass_reason: Annotated[
            str | None,
            Header(description="Read beyond your scope, with this reason; flagged and reviewed by the privacy officer"),
        ] = None,
    ) -> Access:
        policy = request.app.state.policy
        rid = request.scope.get("state", {}).get("request_id")
        declared = x_access_purpose if x_access_purpose in policy.purposes else None
        try:
            reason = _utf8(x_break_glass_reason)
            return authorize_action(policy, caller, action, x_access_purpose, utc_now(), reason)
        except Denied as refused:
            # The child asked about, where the path names one: the refusal belongs in its disclosure log.
            about = _child_in_path(request)
            record_alone(
                request.app.state.db,
                Entry(
                    actor_of(caller),
                    action,
                    "DENY",
                    purpose=declared,
                    reason=refused.code,
                    child_ids=[about] if about else [],
                    request_id=rid,
                ),
            )
            if refused.header:
                raise validation_problem([FieldError(("header", refused.header), refused.detail)]) from refused
            raise denial(refused.status, refused.detail) from refused
        except Exception as exc:
            # Fail closed: an engine fault refuses the request, and the refusal is on record.
            log.error("policy engine error on %s: %s", action, type(exc).__name__)
            record_alone(
                request.app.state.db,
                Entry(
                    actor_of(caller), action, "ERROR", purpose=declared, reason="policy_engine_error", request_id=rid
                ),
            )
            raise ProblemError(500, "Internal server error", "access could not be decided, so it is refused") from exc

    return Depends(dependency)
