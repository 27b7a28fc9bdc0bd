"""shield quality recheck: stored PPNs re-evaluated against the current rules, in committed chunks."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.audit.chain import verify
from app.models import AuditEvent, Ppn, RecordSubject
from app.quality.recheck import recheck
from app.quality.rules import FINDING_BITS, build_rules
from tests.quality.builders import PURPOSE, RULES, at, child, complete_ppn, hours_ago
from tests.test_cli import shield

REPORT = "/api/v1/quality/ppns"
THIN = 1 << FINDING_BITS["referral_reason_thin"]


def _post_ppns(client, auth, n: int) -> list[uuid.UUID]:
    ids = []
    for i in range(n):
        body = complete_ppn(
            source_ref=f"R-{i}",
            person=child(
                i, ethnicity={"self_defined": ["A3", "B1", "W1", "M2", "NS"][i % 5], "officer_defined": "IC1"}
            ),
            incident_occurred_at=at(hours_ago(50 + i)),
            submitted_at=at(hours_ago(50 + i) + timedelta(hours=i % 3 * 20)),
        )
        r = client.post("/api/v1/ppns", json=body, headers=auth())
        assert r.status_code == 201, r.text
        ids.append(uuid.UUID(r.json()["id"]))
    return sorted(ids)


def _columns(db) -> dict[uuid.UUID, tuple]:
    with db.read_session() as s:
        rows = s.execute(
            select(Ppn.record_id, Ppn.finding_mask, Ppn.self_defined_code, Ppn.submission_delay_seconds).order_by(
                Ppn.record_id
            )
        ).all()
        subjects = dict(
            s.execute(
                select(RecordSubject.record_id, RecordSubject.self_defined_code).where(
                    RecordSubject.record_type == "ppn"
                )
            ).all()
        )
    return {rid: (mask, code, delay, subjects[rid]) for rid, mask, code, delay in rows}


def _as_before_revision_0003(db, ids: list[uuid.UUID]) -> None:
    """What PPNs stored before the quality columns existed look like."""
    with db.writing() as s:
        s.execute(
            update(Ppn)
            .where(Ppn.record_id.in_(ids))
            .values(finding_mask=None, self_defined_code=None, submission_delay_seconds=None)
        )
        s.execute(update(RecordSubject).where(RecordSubject.record_id.in_(ids)).values(self_defined_code=None))


def _recheck_rows(db) -> list[tuple]:
    with db.read_session() as s:
        return s.execute(
            select(AuditEvent.actor_sub, AuditEvent.outcome, AuditEvent.reason, AuditEvent.child_ids)
            .where(AuditEvent.action == "quality_recheck")
            .order_by(AuditEvent.seq)
        ).all()


def test_columns_left_null_before_revision_0003_are_filled_in_exactly_as_ingest_fills_them(client, auth, db):
    ids = _post_ppns(client, auth, 5)
    as_ingested = _columns(db)
    _as_before_revision_0003(db, ids[1:4])
    assert sum(v[0] is None for v in _columns(db).values()) == 3

    report = recheck(db, RULES, chunk=2)

    assert (report.checked, report.changed, report.unreadable, report.complete) == (5, 3, [], True)
    assert _columns(db) == as_ingested
    again = recheck(db, RULES, chunk=2)
    assert (again.checked, again.changed) == (5, 0)


def test_a_rule_change_is_applied_to_stored_ppns_and_shows_in_the_report(client, auth, db):
    _post_ppns(client, auth, 4)
    lead = {**auth("police", "ppn_quality_lead"), **PURPOSE}

    def thin_failures() -> int:
        rules = client.get(REPORT, headers=lead).json()["overall"]["rules"]
        return next(r["failures"] for r in rules if r["rule_id"] == "referral_reason_thin")

    assert thin_failures() == 0
    stricter = RULES.file.model_copy(
        update={
            "rules": RULES.rules.model_copy(
                update={"referral_reason_thin": RULES.rules.referral_reason_thin.model_copy(update={"min_words": 100})}
            )
        }
    )
    report = recheck(db, build_rules(stricter, RULES.source))
    assert (report.checked, report.changed) == (4, 4)
    assert all(mask & THIN for mask, *_ in _columns(db).values())
    assert thin_failures() == 4


def test_one_audit_row_for_the_run_with_counts_and_no_children(client, auth, db):
    ids = _post_ppns(client, auth, 3)
    _as_before_revision_0003(db, ids[:1])
    recheck(db, RULES, chunk=1)
    assert _recheck_rows(db) == [
        ("shield-quality-recheck", "ALLOW", "complete: 3 PPNs checked, 1 changed, 0 unreadable", [])
    ]
    with db.read_session() as s:
        assert verify(s.connection()).ok


def test_an_interrupted_run_keeps_its_committed_chunks_and_resumes_after_the_last(client, auth, db):
    ids = _post_ppns(client, auth, 5)
    _as_before_revision_0003(db, ids)
    seen = []

    def stop_after_two_chunks(report):
        seen.append(report.last_id)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        recheck(db, RULES, chunk=2, on_chunk=stop_after_two_chunks)

    filled = [rid for rid, (mask, *_) in _columns(db).items() if mask is not None]
    assert filled == ids[:4] and seen[-1] == ids[3]
    assert _recheck_rows(db)[-1][1:3] == ("ERROR", "interrupted: 4 PPNs checked, 4 changed, 0 unreadable")

    rest = recheck(db, RULES, after=seen[-1], chunk=2)
    assert (rest.checked, rest.changed) == (1, 1)
    assert all(mask is not None for mask, *_ in _columns(db).values())


def test_a_stored_body_that_no_longer_validates_is_reported_and_left_alone(client, auth, db):
    from app.models import RecordVersion

    ids = _post_ppns(client, auth, 2)
    _as_before_revision_0003(db, ids)
    with db.writing() as s:
        # Not possible through the API: what a later, stricter schema would make of an old body.
        body = s.scalar(select(RecordVersion.body).where(RecordVersion.record_id == ids[0]))
        s.execute(
            update(RecordVersion).where(RecordVersion.record_id == ids[0]).values(body={**body, "unknown_field": 1})
        )
    report = recheck(db, RULES)
    assert (report.checked, report.changed, report.unreadable) == (2, 1, [ids[0]])
    assert _columns(db)[ids[0]][0] is None


def test_the_command_prints_how_many_changed(client, auth, db, settings):
    ids = _post_ppns(client, auth, 3)
    _as_before_revision_0003(db, ids[:2])
    result = shield("quality", "recheck", "--chunk", "2", env={"SHIELD_DATABASE_URL": settings.database_url})
    assert result.returncode == 0, result.stderr
    assert "3 PPNs rechecked" in result.stdout and "2 changed" in result.stdout
    again = shield("quality", "recheck", env={"SHIELD_DATABASE_URL": settings.database_url})
    assert "0 changed" in again.stdout
