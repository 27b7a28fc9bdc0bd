"""Ingest endpoints: one per record type, and ``/batch`` for mixed records."""

# No ``from __future__ import annotations`` here: the endpoint factory needs real annotations.

import logging
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from app.audit.chain import Entry
from app.audit.service import actor_of, record_alone
from app.db import Database, utc_now
from app.errors import ProblemError, problem_responses
from app.metrics import ingested
from app.people.linking import Thresholds
from app.policy.engine import can_ingest, can_post_record
from app.records.examples import EXAMPLES
from app.records.kinds import KINDS, Clock, RecordKind
from app.records.schemas import BatchIn, BatchItemResult, BatchResult, IngestResult
from app.records.service import Writer, check, in_transaction, ingest, parse
from app.security.caller import Caller, CurrentCaller

log = logging.getLogger("shield.ingest")
router = APIRouter(prefix="/api/v1", tags=["ingest"])

INGEST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": IngestResult, "description": "The same version with the same body was already stored"},
    **problem_responses(
        400,
        401,
        403,
        409,
        413,
        415,
        422,
        described={
            400: "Malformed JSON",
            403: "The caller may not post this record type",
            409: "This version was already received with a different body",
            422: "Invalid record; `errors` names each field",
        },
    ),
}


def clock(request: Request) -> Clock:
    settings = request.app.state.settings
    return Clock(now=utc_now(), tz=ZoneInfo(settings.timezone), skew=settings.clock_skew)


def authorize_ingest(request: Request, caller: Caller, kind: RecordKind) -> Writer:
    """The policy decides whether this caller may post this type; a refusal is audited."""
    decision = can_ingest(request.app.state.policy, caller, kind.name)
    rid = request.scope.get("state", {}).get("request_id")
    if not decision:
        entry = Entry(actor_of(caller), "ingest", "DENY", reason=f"not_owner_of_{kind.name}", request_id=rid)
        record_alone(request.app.state.db, entry)
        raise ProblemError(403, "Forbidden", decision.reason, kind="forbidden")
    return Writer(sub=caller.sub, agency=caller.agency, roles=caller.roles, request_id=rid)


def authorize_record(request: Request, caller: Caller, kind: RecordKind, record: Any) -> None:
    """The policy decides whether this caller may post this very record (a school's system, only
    its own school's); a refusal is audited."""
    decision = can_post_record(request.app.state.policy, caller, kind.name, record)
    if not decision:
        rid = request.scope.get("state", {}).get("request_id")
        entry = Entry(actor_of(caller), "ingest", "DENY", reason=f"not_own_org_{kind.name}", request_id=rid)
        record_alone(request.app.state.db, entry)
        raise ProblemError(403, "Forbidden", decision.reason, kind="forbidden")


def _example(kind: RecordKind) -> dict[str, Any]:
    return {kind.name: {"summary": kind.title, "value": EXAMPLES[kind.name]}}


_BATCH_EXAMPLE = {
    "incident-and-ppn": {
        "summary": "An incident and the PPN it led to",
        "value": {"records": [{"type": t, "record": EXAMPLES[t]} for t in ("incident", "ppn")]},
    }
}


def _endpoint(kind: RecordKind):  # noqa: ANN202 - FastAPI reads the signature
    async def writer_for(request: Request, caller: CurrentCaller) -> Writer:
        # A dependency, so it runs before the body is validated: a caller who may not post this
        # type learns nothing about the schema from 422s. Async: the policy's answer is a look-up,
        # cheaper than a trip to the thread pool; a refusal (an audit write) makes that trip.
        if can_ingest(request.app.state.policy, caller, kind.name):
            return authorize_ingest(request, caller, kind)
        return await run_in_threadpool(authorize_ingest, request, caller, kind)

    async def post_record(
        request: Request,
        response: Response,
        caller: CurrentCaller,
        writer: Annotated[Writer, Depends(writer_for)],
        record: Annotated[kind.schema, Body(openapi_examples=_example(kind))],  # type: ignore[name-defined]
    ) -> IngestResult:
        checked = check(kind, record, clock(request))
        if not can_post_record(request.app.state.policy, caller, kind.name, checked):
            await run_in_threadpool(authorize_record, request, caller, kind, checked)
        db: Database = request.app.state.db
        quality = request.app.state.quality_rules
        limits = Thresholds.from_settings(request.app.state.settings)
        result = await db.off_loop(
            lambda: in_transaction(db, lambda s: ingest(s, writer, kind, checked, quality=quality, thresholds=limits))
        )
        ingested(request, kind.name, result.outcome)
        response.status_code = 200 if result.outcome == "unchanged" else 201
        return result

    post_record.__name__ = f"post_{kind.name}"
    post_record.__doc__ = (
        f"Receive {kind.noun} from its owning agency's system.\n\n"
        "`(agency, source_ref, version)` is the natural key: the same body again returns 200 with the "
        "same ids; a higher version is an amendment (older versions are kept); the same version with a "
        "different body is 409."
    )
    return post_record


for _kind in KINDS.values():
    router.add_api_route(
        f"/{_kind.path}",
        _endpoint(_kind),
        methods=["POST"],
        status_code=201,
        response_model=IngestResult,
        responses=INGEST_RESPONSES,
        summary=f"Post {_kind.noun}",
    )


def _item_failure(exc: Exception, index: int) -> ProblemError:
    log.error("batch item %d failed: %s", index, type(exc).__name__)
    return ProblemError(500, "Internal server error", "this item was not stored; the error has been logged")


async def batch_poster(request: Request, caller: CurrentCaller) -> Caller:
    """A dependency, so it runs before the body is validated (as each type's endpoint): a caller who
    may post no type is refused, and on record, before its batch's shape or size is looked at."""
    if any(can_ingest(request.app.state.policy, caller, k) for k in KINDS):
        return caller

    def refuse() -> None:
        rid = request.scope.get("state", {}).get("request_id")
        record_alone(
            request.app.state.db,
            Entry(actor_of(caller), "ingest", "DENY", reason="not_an_agency_system", request_id=rid),
        )

    await run_in_threadpool(refuse)
    raise ProblemError(403, "Forbidden", "only agency systems post records", kind="forbidden")


@router.post(
    "/batch",
    response_model=BatchResult,
    responses={k: v for k, v in INGEST_RESPONSES.items() if k not in (200, 409)},
    summary="Post up to 1,000 records of mixed types",
)
async def post_batch(
    request: Request,
    caller: Annotated[Caller, Depends(batch_poster)],
    batch: Annotated[BatchIn, Body(openapi_examples=_BATCH_EXAMPLE)],
) -> BatchResult:
    """Each item is validated and stored in its own transaction: a bad item loses none of the others.

    The response has one result per item, in order, with the status the item would have had on
    its own endpoint and either the ingest result or the problem.
    """
    settings = request.app.state.settings
    if len(batch.records) > settings.max_batch_items:
        raise ProblemError(
            413,
            "Batch too large",
            f"a batch holds at most {settings.max_batch_items} records, got {len(batch.records)}",
            kind="batch-too-large",
        )
    db: Database = request.app.state.db
    quality = request.app.state.quality_rules
    limits = Thresholds.from_settings(settings)
    now = clock(request)

    def store(kind: RecordKind, raw: dict[str, Any]) -> IngestResult:
        writer = authorize_ingest(request, caller, kind)  # a refusal is audited: a write
        record = parse(kind, raw, now)
        authorize_record(request, caller, kind, record)
        return in_transaction(db, lambda s: ingest(s, writer, kind, record, quality=quality, thresholds=limits))

    items: list[BatchItemResult] = []
    for index, item in enumerate(batch.records):
        kind = KINDS[item.type]
        try:
            # Off the event loop as the single-record endpoint's writes are (on SQLite, the one
            # writer thread), an item at a time, in order.
            result = await db.off_loop(lambda k=kind, raw=item.record: store(k, raw))
        except Exception as exc:  # noqa: BLE001 - one item's fault must not lose the others
            problem = exc if isinstance(exc, ProblemError) else _item_failure(exc, index)
            body = problem.body()
            for err in body.get("errors", []):
                err["pointer"] = f"#/records/{index}/record/" + err["pointer"].removeprefix("#/")
                err["field"] = f"records.{index}.record.{err['field']}"
            items.append(BatchItemResult(index=index, status=problem.status, problem=body))
            ingested(request, kind.name, "rejected")
            continue
        ingested(request, kind.name, result.outcome)
        items.append(BatchItemResult(index=index, status=200 if result.outcome == "unchanged" else 201, result=result))
    stored = sum(1 for i in items if i.status == 201)
    unchanged = sum(1 for i in items if i.status == 200)
    return BatchResult(
        received=len(items), stored=stored, unchanged=unchanged, failed=len(items) - stored - unchanged, items=items
    )
