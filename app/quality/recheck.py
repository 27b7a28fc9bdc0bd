"""Re-evaluate every stored PPN against the current quality rules.

Stored PPNs carry what the report counts (``ppn.finding_mask``, ``ppn.self_defined_code``,
``ppn.submission_delay_seconds`` and the subject's ``record_subject.self_defined_code``), as
the rules stood when each PPN arrived. After a rule changes, or for PPNs stored before revision
0003 (whose columns are NULL), ``recheck`` recomputes them from each PPN's current version, and
refreshes what the report keeps about those children's records (app.quality.kept: the ethnicity
in quality_subject). incident_child depends on no rule, so a rule change leaves it as it is.

PPNs are taken in record id order, a chunk per write transaction: an interrupted run keeps the
chunks it committed and can resume after the last one (``after``), and running it again changes
nothing that is already right. Each chunk locks its PPNs' record rows (PostgreSQL; SQLite
writers take turns anyway), so an amendment arriving meanwhile waits and then writes its own,
newer, columns. The run is audited as one system action, with counts only.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Table, and_, bindparam, func, select, update

from app.audit.chain import Actor, Entry, append
from app.db import Database
from app.quality import kept
from app.quality.check import findings
from app.quality.rules import QualityRules, finding_mask
from app.records.kinds import KINDS
from app.records.models import Ppn, Record, RecordSubject, RecordVersion
from app.records.schemas import Ethnicity, PpnIn

CHUNK = 1000
ACTOR = Actor(sub="shield-quality-recheck", agency="partnership", roles=("system",))
ACTION = "quality_recheck"
PURPOSE = "ppn_quality_assurance"
log = logging.getLogger("shield.quality")

_P: Table = Ppn.__table__  # type: ignore[assignment]
_R: Table = Record.__table__  # type: ignore[assignment]
_RV: Table = RecordVersion.__table__  # type: ignore[assignment]
_RS: Table = RecordSubject.__table__  # type: ignore[assignment]
_PPN = KINDS["ppn"]

_SET_PPN = (
    update(_P)
    .where(_P.c.record_id == bindparam("rid"))
    .values(
        finding_mask=bindparam("mask"),
        self_defined_code=bindparam("code"),
        submission_delay_seconds=bindparam("delay"),
    )
)
_SET_SUBJECT = (
    update(_RS)
    .where(_RS.c.record_id == bindparam("rid"), _RS.c.position == 0)
    .values(self_defined_code=bindparam("code"))
)


@dataclass
class RecheckReport:
    checked: int = 0
    changed: int = 0
    # PPNs whose stored body no longer validates against the PPN schema: left as they were.
    unreadable: list[uuid.UUID] = field(default_factory=list)
    last_id: uuid.UUID | None = None
    complete: bool = False

    def summary(self) -> str:
        """For the audit row: counts only."""
        state = "complete" if self.complete else "interrupted"
        return f"{state}: {self.checked} PPNs checked, {self.changed} changed, {len(self.unreadable)} unreadable"


def count_ppns(db: Database, after: uuid.UUID | None = None) -> int:
    with db.read_session() as session:
        stmt = select(func.count()).select_from(_P)
        if after is not None:
            stmt = stmt.where(_P.c.record_id > after)
        return int(session.execute(stmt).scalar_one())


def _chunk(conn: Connection, after: uuid.UUID | None, size: int) -> list[Any]:
    stmt = (
        select(
            _P.c.record_id,
            _P.c.finding_mask,
            _P.c.self_defined_code,
            _P.c.submission_delay_seconds,
            _RS.c.self_defined_code.label("subject_code"),
            _RV.c.body,
        )
        .join(_R, _R.c.id == _P.c.record_id)
        .join(_RV, and_(_RV.c.record_id == _R.c.id, _RV.c.version == _R.c.version))
        .outerjoin(_RS, and_(_RS.c.record_id == _P.c.record_id, _RS.c.position == 0))
        .order_by(_P.c.record_id)
        .limit(size)
        .with_for_update(of=_R)
    )
    if after is not None:
        stmt = stmt.where(_P.c.record_id > after)
    return list(conn.execute(stmt))


def _entry(outcome: str, report: RecheckReport) -> Entry:
    return Entry(ACTOR, ACTION, outcome, purpose=PURPOSE, reason=report.summary(), field_groups=["ppn"])


def _as_posted(body: dict[str, Any]) -> dict[str, Any]:
    """The stored body without what storing added: the ethnicity's computed (normalised) fields."""
    person = body.get("person")
    ethnicity = person.get("ethnicity") if isinstance(person, dict) else None
    if not isinstance(ethnicity, dict):
        return body
    posted = {k: v for k, v in ethnicity.items() if k not in Ethnicity.model_computed_fields}
    return {**body, "person": {**person, "ethnicity": posted}}


def _evaluate(body: dict[str, Any], rules: QualityRules) -> tuple[int, str | None, int | None]:
    """(finding mask, self-defined code, delay seconds), exactly as ingest computes them."""
    record = PpnIn.model_validate(_as_posted(body))
    columns = _PPN.columns(record)
    return (
        finding_mask(f.rule_id for f in findings(record, rules)),
        columns["self_defined_code"],
        columns["submission_delay_seconds"],
    )


def recheck(
    db: Database,
    rules: QualityRules,
    *,
    after: uuid.UUID | None = None,
    chunk: int = CHUNK,
    on_chunk: Callable[[RecheckReport], None] | None = None,
) -> RecheckReport:
    """Recompute every PPN's quality columns (those with record id after ``after``) under ``rules``."""
    report = RecheckReport()
    try:
        while True:
            with db.writing() as session:
                conn = session.connection()
                rows = _chunk(conn, after, chunk)
                if not rows:
                    report.complete = True
                    append(conn, _entry("ALLOW", report))
                    break
                changes = []
                for rid, mask, code, delay, subject_code, body in rows:
                    try:
                        new = _evaluate(body, rules)
                    except ValidationError:
                        report.unreadable.append(rid)
                        continue
                    if new != (mask, code, delay) or subject_code != new[1]:
                        changes.append({"rid": rid, "mask": new[0], "code": new[1], "delay": new[2]})
                if changes:
                    conn.execute(_SET_PPN, changes)
                    conn.execute(_SET_SUBJECT, changes)
                    # A subject's ethnicity changed: what the report keeps about their records too.
                    rids = [c["rid"] for c in changes]
                    kept.refresh(conn, conn.execute(select(_RS.c.child_id).where(_RS.c.record_id.in_(rids))).scalars())
            report.checked += len(rows)
            report.changed += len(changes)
            after = report.last_id = rows[-1][0]
            if on_chunk:
                on_chunk(report)
    except BaseException:
        # Interrupted (Ctrl-C, a lost connection): the committed chunks stay, and the audit says so.
        if report.checked:
            try:
                with db.writing() as session:
                    append(session.connection(), _entry("ERROR", report))
            except Exception:
                log.exception("could not audit the interrupted quality recheck")
        raise
    return report
