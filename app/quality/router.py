"""PPN quality endpoints: the check before submission, and the quality report for PPN quality leads."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from app.audit.chain import Entry
from app.audit.service import actor_of, record_alone
from app.db import Database, utc_now
from app.errors import FieldError, problem_responses, validation_problem
from app.policy.deps import Authorized
from app.policy.engine import Access
from app.quality.check import Finding, findings, unknown_codes
from app.quality.render import to_csv, to_html
from app.quality.report import GroupBy, Period, QualityReport, ppn_quality
from app.quality.rules import QualityRules
from app.records.examples import EXAMPLES
from app.records.kinds import KINDS
from app.records.router import INGEST_RESPONSES, authorize_ingest, clock
from app.records.schemas import Day
from app.records.service import Writer, parse
from app.security.caller import CurrentCaller

router = APIRouter(prefix="/api/v1", tags=["quality"])
DEFAULT_DAYS = 90
# The HTML report runs nothing and loads nothing: only its own inline styles.
_HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


class QualityCheckResult(BaseModel):
    findings: list[Finding]


def _ppn_writer(request: Request, caller: CurrentCaller) -> Writer:
    # As for POST /ppns, and before the body is read: only a system that may post PPNs may check one.
    return authorize_ingest(request, caller, KINDS["ppn"])


# The example PPN less what the JTAI found missing most: what the child said, and who they are.
_INCOMPLETE_PPN = {
    **{k: v for k, v in EXAMPLES["ppn"].items() if k != "voice_of_child"},
    "person": {k: v for k, v in EXAMPLES["ppn"]["person"].items() if k != "ethnicity"},
}


@router.post(
    "/ppns/quality-check",
    response_model=QualityCheckResult,
    summary="Check a PPN before submitting it",
    responses={k: v for k, v in INGEST_RESPONSES.items() if k in (400, 401, 403, 413, 415, 422)},
    # The body is read as JSON first, so that an unknown ethnicity code can be a finding; it is
    # then validated exactly as POST /ppns validates it.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/PpnIn"},
                    "examples": {
                        "incomplete": {
                            "summary": "A PPN without the child's voice or ethnicity",
                            "value": _INCOMPLETE_PPN,
                        }
                    },
                }
            },
        }
    },
)
def post_quality_check(
    request: Request,
    _writer: Annotated[Writer, Depends(_ppn_writer)],
    body: Annotated[dict[str, Any], Body()],
) -> QualityCheckResult:
    """The quality findings on a PPN, without storing anything: the prompt before submission.

    The body is a PPN exactly as for `POST /ppns`, and the findings are those `POST /ppns` would
    return. An ethnicity code outside the code lists is reported as a finding here (it would be a
    422 on submission); any other invalid field is a 422, as on submission.
    """
    rules: QualityRules = request.app.state.quality_rules
    cleaned, unknown = unknown_codes(body, rules)
    record = parse(KINDS["ppn"], cleaned, clock(request))
    # A dropped unknown code would also read as "missing": say it once, as what it is.
    flagged = {f.field for f in unknown}
    return QualityCheckResult(findings=unknown + [f for f in findings(record, rules) if f.field not in flagged])


@router.get(
    "/quality/ppns",
    response_model=QualityReport,
    summary="PPN quality report",
    responses={
        200: {
            "description": "The report: JSON, or with `format=csv` a CSV file, or with `format=html` a printable page",
            "content": {"text/csv": {}, "text/html": {}},
        },
        **problem_responses(
            400,
            401,
            403,
            422,
            described={
                400: "No X-Access-Purpose header",
                403: "The role may not read the quality report, or not for this purpose",
                422: "Invalid query parameter; `errors` names it",
            },
        ),
    },
)
def get_ppn_quality(
    request: Request,
    access: Annotated[Access, Authorized("read_quality_report")],
    first: Annotated[
        Day | None,
        Query(
            alias="from", description=f"First day, inclusive, local time; default {DEFAULT_DAYS - 1} days before `to`"
        ),
    ] = None,
    last: Annotated[Day | None, Query(alias="to", description="Last day, inclusive, local time; default today")] = None,
    group_by: Annotated[
        GroupBy | None, Query(description="Also break the figures down by officer district, team or month")
    ] = None,
    fmt: Annotated[Literal["json", "csv", "html"], Query(alias="format")] = "json",
) -> Any:
    """Completeness and timeliness of PPNs submitted in the period: per-rule failure rates, the
    share with no findings, submission delay (median and 90th percentile hours), ethnicity
    recording, incidents with an arrested or injured child and no PPN in time, and the ethnicity of
    children in PPNs and incidents against the reference population. Aggregate figures only; each
    read is audited."""
    settings = request.app.state.settings
    tz = ZoneInfo(settings.timezone)
    now = utc_now()
    last = last or now.astimezone(tz).date()
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise validation_problem([FieldError(("query", "from"), f"must be on or before 'to' ({last.isoformat()})")])
    db: Database = request.app.state.db
    with db.read_session() as session:
        report = ppn_quality(
            session.connection(), request.app.state.quality_rules, Period(first, last, tz), group_by, now
        )
    rid = request.scope.get("state", {}).get("request_id")
    record_alone(
        db, Entry(actor_of(access.caller), "read_quality_report", "ALLOW", purpose=access.purpose, request_id=rid)
    )
    if fmt == "csv":
        name = f"ppn-quality-{first.isoformat()}-to-{last.isoformat()}.csv"
        return Response(
            to_csv(report), media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )
    if fmt == "html":
        return HTMLResponse(to_html(report), headers={"Content-Security-Policy": _HTML_CSP})
    return report
