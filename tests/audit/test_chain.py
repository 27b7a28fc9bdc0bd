"""The audit: append-only, hash-chained, complete, and free of personal data (AUDIT-1..4, DP-3).

Tampering is done the way an attacker with DBA rights would: on PostgreSQL with triggers switched
off for the session (``session_replication_role = replica``), on SQLite by dropping the append-only
triggers and re-creating them afterwards.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from app.audit.chain import entry_hash, verify
from app.audit.models import AuditEvent, AuditEventChild, BreakGlassGrant, PrivacyAlert
from app.policy.loader import load_policy
from app.records import service
from tests.conftest import ROOT
from tests.seeding import (
    ae_body,
    audit_rows,
    education_body,
    full_person,
    incident_body,
    last_seq,
    nhs_number,
    post,
    ppn_body,
    reader,
    rows_of_request,
    seed_child_in_every_scope,
    yjs_body,
)

POLICY = load_policy(ROOT / "policies")
EVENTS = AuditEvent.__table__
EVENT_CHILDREN = AuditEventChild.__table__


def record_url(child_id: str) -> str:
    return f"/api/v1/children/{child_id}/record"


def verify_now(db):
    with db.read_session() as s:
        return verify(s.connection())


@contextmanager
def as_dba(db) -> Iterator[Any]:
    """A transaction that gets past the append-only triggers, as only a DBA could."""
    with db.writing() as session:
        conn = session.connection()
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            triggers = []
        else:
            conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
            triggers = conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name IN ('audit_event', 'audit_event_child')"
            ).all()
            assert len(triggers) == 4, "the append-only triggers are missing"
            for name, _ in triggers:
                conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
        yield conn
        for _, sql in triggers:
            conn.exec_driver_sql(sql)


def some_history(client, auth) -> str:
    """A few ingests and reads: at least eight audit rows. Returns the child's id."""
    child = seed_child_in_every_scope(client, auth)
    for role in ("front_door_social_worker", "navigator", "yjs_practitioner"):
        assert client.get(record_url(child.child_id), headers=reader(auth, POLICY, role)).status_code == 200
    return child.child_id


# ---- Verification --------------------------------------------------------------------------------


def test_verify_endpoint_passes_a_clean_chain_with_the_right_row_count(client, auth, db):
    some_history(client, auth)
    before = len(audit_rows(db))
    assert before >= 8
    r = client.get("/api/v1/audit/verify", headers=reader(auth, POLICY, "privacy_officer"))
    assert r.status_code == 200, r.text
    head = audit_rows(db)[before - 1]
    assert r.json() == {
        "ok": True,
        "rows": before,
        "first_bad_seq": None,
        "problem": None,
        "head_seq": before,
        "head_hash": head["entry_hash"],
    }
    rows = audit_rows(db)
    assert [row["seq"] for row in rows] == list(range(1, before + 2))  # the verification is audited too
    assert (rows[-1]["action"], rows[-1]["outcome"], rows[-1]["purpose"]) == ("verify_audit", "ALLOW", "audit_review")
    assert verify_now(db).ok


ALTERATIONS = {
    "actor_sub": "mallory",
    "outcome": "DENY",
    "purpose": "audit_review",
    "break_glass": True,
    "child_ids": [str(uuid.UUID(int=1))],
    "record_ids": [],
    "field_groups": ["person.identity"],
    "actor_roles": ["privacy_officer"],
    "occurred_at": datetime(2020, 1, 1, tzinfo=UTC),
}


@pytest.mark.parametrize("column", list(ALTERATIONS))
def test_verify_names_an_altered_row(client, auth, db, column):
    some_history(client, auth)
    with as_dba(db) as conn:
        conn.execute(update(EVENTS).where(EVENTS.c.seq == 3).values({column: ALTERATIONS[column]}))
    result = verify_now(db)
    assert (result.ok, result.first_bad_seq) == (False, 3), result
    r = client.get("/api/v1/audit/verify", headers=reader(auth, POLICY, "privacy_officer"))
    assert (r.json()["ok"], r.json()["first_bad_seq"]) == (False, 3)


def test_verify_names_an_altered_last_row(client, auth, db):
    some_history(client, auth)
    last = last_seq(db)
    with as_dba(db) as conn:
        conn.execute(update(EVENTS).where(EVENTS.c.seq == last).values(actor_sub="mallory"))
    assert verify_now(db).first_bad_seq == last


@pytest.mark.parametrize("seq", [1, 4])
def test_verify_names_a_deleted_row(client, auth, db, seq):
    some_history(client, auth)
    with as_dba(db) as conn:
        conn.execute(delete(EVENT_CHILDREN).where(EVENT_CHILDREN.c.audit_seq == seq))
        conn.execute(delete(EVENTS).where(EVENTS.c.seq == seq))
    result = verify_now(db)
    assert (result.ok, result.first_bad_seq) == (False, seq), result


def test_the_newest_rows_removed_show_against_a_head_kept_elsewhere(client, auth, db):
    some_history(client, auth)
    kept = verify_now(db)
    assert kept.ok and kept.head_seq == last_seq(db)
    with as_dba(db) as conn:
        conn.execute(delete(EVENT_CHILDREN).where(EVENT_CHILDREN.c.audit_seq >= kept.head_seq - 1))
        conn.execute(delete(EVENTS).where(EVENTS.c.seq >= kept.head_seq - 1))
    assert verify_now(db).ok  # whole, and shorter: nothing in the database says otherwise
    with db.read_session() as s:
        result = verify(s.connection(), expect=(kept.head_seq, kept.head_hash))
    assert (result.ok, result.first_bad_seq) == (False, kept.head_seq)
    assert "removed" in result.problem


def test_a_head_whose_hash_changed_shows_the_chain_rewritten(client, auth, db):
    some_history(client, auth)
    kept = verify_now(db)
    with db.read_session() as s:
        assert verify(s.connection(), expect=(kept.head_seq, kept.head_hash)).ok
        result = verify(s.connection(), expect=(kept.head_seq, "0" * 64))
    assert (result.ok, result.first_bad_seq) == (False, kept.head_seq) and "rewritten" in result.problem


@pytest.mark.parametrize("change", ["add", "remove"])
def test_a_child_index_that_is_not_the_rows_children_is_named(client, auth, db, change):
    # The disclosure log reads the index: a row made to show under another child, or hidden from
    # its own, is tampering with what a child's log says.
    child = some_history(client, auth)
    with db.read_session() as s:
        seq = s.scalar(select(EVENT_CHILDREN.c.audit_seq).where(EVENT_CHILDREN.c.child_id == uuid.UUID(child)))
    with as_dba(db) as conn:
        if change == "add":
            conn.execute(insert(EVENT_CHILDREN).values(audit_seq=seq, child_id=uuid.uuid4()))
        else:
            conn.execute(delete(EVENT_CHILDREN).where(EVENT_CHILDREN.c.audit_seq == seq))
    result = verify_now(db)
    assert (result.ok, result.first_bad_seq) == (False, seq), result
    assert "child index" in result.problem


def _shift_up(conn, from_seq: int) -> None:
    """Make room at ``from_seq`` by moving every later row (and its child index) up by one."""
    for table, column in ((EVENTS, EVENTS.c.seq), (EVENT_CHILDREN, EVENT_CHILDREN.c.audit_seq)):
        conn.execute(update(table).where(column >= from_seq).values({column.name: -(column + 1)}))
        conn.execute(update(table).where(column < 0).values({column.name: -column}))


def _row(conn, seq: int) -> dict[str, Any]:
    return dict(conn.execute(select(EVENTS).where(EVENTS.c.seq == seq)).mappings().one())


def _forged(conn, seq: int, rehash: bool) -> dict[str, Any]:
    prev = _row(conn, seq - 1)
    row = {
        **prev,
        "seq": seq,
        "actor_sub": "mallory",
        "action": "read_child_record",
        "outcome": "ALLOW",
        "purpose": "front_door_decision",
        "prev_hash": prev["entry_hash"],
    }
    row["entry_hash"] = entry_hash(row["prev_hash"], row) if rehash else "f" * 64
    return row


def test_verify_names_the_row_after_a_well_forged_insertion(client, auth, db):
    # The forger computed a valid hash for their row, so the first row that no longer fits is the next one.
    some_history(client, auth)
    total = len(audit_rows(db))
    with as_dba(db) as conn:
        _shift_up(conn, 3)
        forged = _forged(conn, 3, rehash=True)
        conn.execute(insert(EVENTS), forged)
        for child in forged["child_ids"]:  # and its child index, as a thorough forger would
            conn.execute(insert(EVENT_CHILDREN).values(audit_seq=3, child_id=uuid.UUID(child)))
    assert len(audit_rows(db)) == total + 1
    result = verify_now(db)
    assert (result.ok, result.first_bad_seq) == (False, 4), result


def test_verify_names_a_clumsily_forged_insertion(client, auth, db):
    some_history(client, auth)
    with as_dba(db) as conn:
        _shift_up(conn, 3)
        conn.execute(insert(EVENTS), _forged(conn, 3, rehash=False))
    result = verify_now(db)
    assert (result.ok, result.first_bad_seq) == (False, 3), result


def test_verify_names_reordered_rows(client, auth, db):
    some_history(client, auth)
    with as_dba(db) as conn:
        third, fourth = _row(conn, 3), _row(conn, 4)
        content = [c.name for c in EVENTS.c if c.name != "seq"]
        conn.execute(update(EVENTS).where(EVENTS.c.seq == 3).values({c: fourth[c] for c in content}))
        conn.execute(update(EVENTS).where(EVENTS.c.seq == 4).values({c: third[c] for c in content}))
    result = verify_now(db)
    assert (result.ok, result.first_bad_seq) == (False, 3), result


def test_an_untouched_chain_still_verifies_after_a_tamper_free_dba_session(client, auth, db):
    # The tampering helper itself must not break the chain or lose the triggers.
    some_history(client, auth)
    with as_dba(db):
        pass
    assert verify_now(db).ok
    with pytest.raises(DBAPIError):
        with db.writing() as s:
            s.execute(update(EVENTS).where(EVENTS.c.seq == 1).values(actor_sub="mallory"))


# ---- Append-only ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(lambda: update(EVENTS).where(EVENTS.c.seq == 2).values(actor_sub="mallory"), id="update-event"),
        pytest.param(lambda: delete(EVENTS).where(EVENTS.c.seq == 2), id="delete-event"),
        pytest.param(lambda: delete(EVENTS), id="delete-all-events"),
        pytest.param(lambda: update(EVENT_CHILDREN).values(child_id=uuid.UUID(int=1)), id="update-child-index"),
        pytest.param(lambda: delete(EVENT_CHILDREN), id="delete-child-index"),
    ],
)
def test_the_app_cannot_update_or_delete_audit_rows(client, auth, db, statement):
    some_history(client, auth)
    before = audit_rows(db)
    with pytest.raises(DBAPIError, match="append-only"):
        with db.writing() as s:
            s.execute(statement())
    assert audit_rows(db) == before
    assert verify_now(db).ok


@pytest.mark.parametrize("table", [BreakGlassGrant.__table__, PrivacyAlert.__table__], ids=["grant", "alert"])
def test_a_break_glass_reason_or_a_privacy_alert_cannot_be_rewritten_or_removed(client, auth, db, table):
    # What the privacy officer reviews: "routine check, reviewed" had replaced a stated reason, and
    # alerts had been deleted, with the hash chain still whole.
    some_history(client, auth)
    with db.writing() as s:
        if table is BreakGlassGrant.__table__:
            s.execute(
                insert(table).values(
                    id=uuid.uuid4(),
                    actor_sub="nav-1",
                    actor_agency="health",
                    actor_roles=["navigator"],
                    child_id=uuid.uuid4(),
                    reason="Child at A&E with a stab wound; need the police context",
                    granted_at=datetime.now(UTC),
                    expires_at=datetime.now(UTC),
                    audit_seq=1,
                )
            )
        else:
            s.execute(
                insert(table).values(
                    id=uuid.uuid4(),
                    kind="read_limit",
                    actor_sub="sw-1",
                    actor_agency="social_care",
                    actor_roles=["front_door_social_worker"],
                    detail="shown 61 children",
                    created_at=datetime.now(UTC),
                    audit_seq=1,
                )
            )
    column = "reason" if table is BreakGlassGrant.__table__ else "detail"
    for statement in (update(table).values({column: "routine check, reviewed"}), delete(table)):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.writing() as s:
                s.execute(statement)
    with db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(table)) == 1


def test_the_app_cannot_empty_the_audit_in_one_statement(client, auth, db):
    # TRUNCATE on PostgreSQL; on SQLite a bare DELETE, which SQLite would otherwise run as a truncate.
    some_history(client, auth)
    sql = "TRUNCATE audit_event_child, audit_event" if db.dialect == "postgresql" else "DELETE FROM audit_event"
    with pytest.raises(DBAPIError, match="append-only"):
        with db.writing() as s:
            s.execute(text(sql))
    assert verify_now(db).ok and len(audit_rows(db)) >= 8


# ---- What ingest writes, and what it must not --------------------------------------------------

CANARY_GIVEN = "Zebulonia"
CANARY_FAMILY = "Quockerwodger"
CANARY_NHS = nhs_number(487231)
CANARY_TEXT = "canary-text-fd81c2 she said the older boys took her phone"
CANARIES = (CANARY_GIVEN, CANARY_FAMILY, CANARY_NHS, "fd81c2", "Canary Street")


def canary_person() -> dict[str, Any]:
    return full_person(
        given_name=CANARY_GIVEN,
        family_name=CANARY_FAMILY,
        address="1 Canary Street, Leeds",
        identifiers={"nhs_number": CANARY_NHS},
        culture_notes=CANARY_TEXT,
    )


def canary_bodies() -> dict[str, dict[str, Any]]:
    child = canary_person()
    other = full_person(given_name="Kyle", family_name=CANARY_FAMILY + "-Other")
    return {
        "incident": incident_body(child, other, ref="INC-CANARY", summary=CANARY_TEXT),
        "ppn": ppn_body(child, ref="PPN-CANARY", reason_for_referral=CANARY_TEXT, voice_of_child=CANARY_TEXT),
        "ae_attendance": ae_body(child, ref="AE-CANARY", assault_location_description=CANARY_TEXT[:150]),
        "yjs_case": yjs_body(child, ref="YJS-CANARY", case_worker=CANARY_TEXT[:150]),
        "education_report": education_body(child, ref="SCH-CANARY", summary=CANARY_TEXT),
    }


def assert_no_canary(where: str, content: str) -> None:
    for canary in CANARIES:
        assert canary not in content, f"{canary!r} appears in {where}"


@pytest.mark.parametrize("record_type", list(canary_bodies()))
def test_every_ingest_writes_exactly_one_allow_row_without_personal_data(client, auth, db, record_type):
    body = canary_bodies()[record_type]
    before = last_seq(db)
    out = post(client, auth, record_type, body)
    again = post(client, auth, record_type, body)  # the same body again: 200, and audited again
    assert again["outcome"] == "unchanged"
    rows = audit_rows(db, after=before)
    assert [(r["action"], r["outcome"], r["reason"]) for r in rows] == [
        ("ingest", "ALLOW", "created"),
        ("ingest", "ALLOW", "unchanged"),
    ]
    agency = {
        "incident": "police",
        "ppn": "police",
        "ae_attendance": "health",
        "yjs_case": "yjs",
        "education_report": "education",
    }[record_type]
    for row in rows:
        assert row["record_ids"] == [out["id"]]
        assert row["child_ids"] == sorted(c["child_id"] for c in out["children"])
        assert (row["actor_sub"], row["actor_agency"], row["purpose"]) == (f"{agency}-agency_system", agency, "ingest")
        assert_no_canary(f"audit row {row['seq']}", json.dumps(row, default=str))
    with db.read_session() as s:
        indexed = s.scalars(select(EVENT_CHILDREN.c.child_id).where(EVENT_CHILDREN.c.audit_seq == rows[0]["seq"]))
        assert sorted(str(c) for c in indexed) == rows[0]["child_ids"]


def test_canaries_appear_in_no_audit_row_problem_body_or_log(client, auth, db, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG, logger="shield")
    caplog.set_level(logging.DEBUG, logger="app")
    bodies = canary_bodies()
    problems: list[Any] = []
    for record_type, body in bodies.items():
        post(client, auth, record_type, body)
    # Reads of the canary child by every reader.
    child_id = client.post("/api/v1/ppns", json=bodies["ppn"], headers=auth("police")).json()["children"][0]["child_id"]
    for role in ("front_door_social_worker", "navigator", "yjs_practitioner", "education_dsl"):
        r = client.get(record_url(child_id), headers=reader(auth, POLICY, role))
        assert r.status_code == 200 and CANARY_GIVEN in r.text  # the data does reach those allowed to read it
    # 409: the same version with a different body.
    problems.append(
        client.post("/api/v1/incidents", json={**bodies["incident"], "weapon": "firearm"}, headers=auth("police"))
    )
    # 422: a date of birth after the event, an NHS number failing its check digit, an unknown field.
    bad_person = {**canary_person(), "date_of_birth": "2099-01-01"}
    problems.append(client.post("/api/v1/ppns", json=ppn_body(bad_person, ref="PPN-BAD"), headers=auth("police")))
    bad_nhs = {**canary_person(), "identifiers": {"nhs_number": CANARY_NHS[:-1] + str((int(CANARY_NHS[-1]) + 1) % 10)}}
    problems.append(client.post("/api/v1/ppns", json=ppn_body(bad_nhs, ref="PPN-BAD2"), headers=auth("police")))
    problems.append(
        client.post(
            "/api/v1/ppns",
            json={**bodies["ppn"], "source_ref": "PPN-BAD3", "extra_notes": CANARY_TEXT},
            headers=auth("police"),
        )
    )
    # 403: an agency posting a type it does not own; 401: no valid token.
    problems.append(client.post("/api/v1/ae-attendances", json=bodies["ae_attendance"], headers=auth("police")))
    problems.append(client.post("/api/v1/ppns", json=bodies["ppn"], headers={"Authorization": "Bearer x.y.z"}))

    # 500: a failure whose message carries personal data.
    def explode(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError(f"could not link {CANARY_GIVEN} {CANARY_FAMILY} {CANARY_NHS} {CANARY_TEXT}")

    monkeypatch.setattr(service, "_link", explode)
    problems.append(
        client.post("/api/v1/ppns", json={**bodies["ppn"], "source_ref": "PPN-500"}, headers=auth("police"))
    )
    monkeypatch.undo()

    assert [p.status_code for p in problems] == [409, 422, 422, 422, 403, 401, 500]
    for p in problems:
        assert p.headers["content-type"].startswith("application/problem+json")
        assert_no_canary(f"the {p.status_code} problem body", p.text)
    for row in audit_rows(db):
        assert_no_canary(f"audit row {row['seq']} ({row['action']})", json.dumps(row, default=str))
    logged = "\n".join(
        f"{rec.name} {rec.getMessage()} {rec.exc_text or ''} {getattr(rec, 'request_id', '')}" for rec in caplog.records
    )
    assert any(rec.levelno >= logging.ERROR for rec in caplog.records), "the 500 was logged"
    assert_no_canary("the logs", logged)


def test_a_failed_ingest_leaves_no_allow_row(client, auth, db):
    body = canary_bodies()["incident"]
    post(client, auth, "incident", body)
    conflict = client.post("/api/v1/incidents", json={**body, "weapon": "firearm"}, headers=auth("police"))
    invalid = client.post(
        "/api/v1/incidents",
        json={**body, "source_ref": "INC-2", "occurred_at": "2999-01-01T00:00Z"},
        headers=auth("police"),
    )
    assert (conflict.status_code, invalid.status_code) == (409, 422)
    for r in (conflict, invalid):
        assert [row for row in rows_of_request(db, r) if row["outcome"] == "ALLOW"] == []
    ingests = [row for row in audit_rows(db) if row["action"] == "ingest"]
    assert len(ingests) == 1


def test_a_401_writes_an_authenticate_deny_row(client, auth, db):
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJlLW5vdC12YWxpZA"
    r = client.post("/api/v1/ppns", json=canary_bodies()["ppn"], headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    [row] = rows_of_request(db, r)
    assert (row["action"], row["outcome"], row["actor_sub"]) == ("authenticate", "DENY", "anonymous")
    assert row["child_ids"] == [] and row["record_ids"] == []
    assert token not in json.dumps(row, default=str) and "mallory" not in json.dumps(row, default=str)
    missing = client.get(record_url(str(uuid.uuid4())))
    assert missing.status_code == 401
    [row] = rows_of_request(db, missing)
    assert (row["action"], row["outcome"]) == ("authenticate", "DENY")


# ---- The disclosure log --------------------------------------------------------------------------


def test_the_disclosure_log_shows_who_read_the_child_and_nothing_about_another(client, auth, db):
    child = seed_child_in_every_scope(client, auth)
    assert child.other_child_id
    front_door = client.get(record_url(child.child_id), headers=reader(auth, POLICY, "front_door_social_worker"))
    nav = client.get(record_url(child.child_id), headers=reader(auth, POLICY, "navigator"))
    other = client.get(record_url(child.other_child_id), headers=reader(auth, POLICY, "front_door_social_worker"))
    assert (front_door.status_code, nav.status_code, other.status_code) == (200, 200, 200)
    [front_door_row] = [r for r in rows_of_request(db, front_door) if r["action"] == "read_child_record"]
    [other_row] = [r for r in rows_of_request(db, other) if r["action"] == "read_child_record"]

    officer = reader(auth, POLICY, "privacy_officer", sub="dpo-1")
    r = client.get("/api/v1/audit/events", params={"child_id": child.child_id}, headers=officer)
    assert r.status_code == 200, r.text
    log = r.json()
    seqs = [e["seq"] for e in log]
    assert seqs == sorted(seqs, reverse=True)
    assert other_row["seq"] not in seqs
    assert child.other_child_id not in r.text
    reads = [e for e in log if e["action"] == "read_child_record"]
    assert [(e["actor"]["roles"], e["purpose"]) for e in reads] == [
        (["navigator"], "navigator_follow_up"),
        (["front_door_social_worker"], "front_door_decision"),
    ]
    fd = next(e for e in reads if e["seq"] == front_door_row["seq"])
    assert fd["actor"]["sub"] == front_door_row["actor_sub"]
    assert fd["field_groups"] == front_door_row["field_groups"] and "yjs_case.yjs_detail" in fd["field_groups"]
    assert {e["action"] for e in log} == {"ingest", "read_child_record"}
    assert len([e for e in log if e["action"] == "ingest"]) == 5

    # Reading the log is itself audited, and shows in the child's log.
    [audit_read] = rows_of_request(db, r)
    assert (audit_read["action"], audit_read["outcome"], audit_read["actor_sub"], audit_read["purpose"]) == (
        "read_audit",
        "ALLOW",
        "dpo-1",
        "audit_review",
    )
    assert audit_read["child_ids"] == [child.child_id]
    again = client.get("/api/v1/audit/events", params={"child_id": child.child_id}, headers=officer).json()
    assert again[0]["seq"] == audit_read["seq"] and again[0]["action"] == "read_audit"

    # The other child's log has the other read and not this child's.
    theirs = client.get("/api/v1/audit/events", params={"child_id": child.other_child_id}, headers=officer).json()
    their_seqs = {e["seq"] for e in theirs}
    assert other_row["seq"] in their_seqs and front_door_row["seq"] not in their_seqs


def test_a_privacy_officer_cannot_read_a_childs_record(client, auth, db):
    child = seed_child_in_every_scope(client, auth)
    r = client.get(record_url(child.child_id), headers=reader(auth, POLICY, "privacy_officer"))
    assert r.status_code == 403
    assert child.person["given_name"] not in r.text


@pytest.mark.parametrize("path", ["/api/v1/audit/verify", "/api/v1/audit/events", "/api/v1/audit/break-glass"])
def test_a_front_door_social_worker_cannot_read_the_audit(client, auth, db, path):
    child_id = some_history(client, auth)
    for purpose in ("front_door_decision", "audit_review"):
        r = client.get(
            path,
            params={"child_id": child_id},
            headers=reader(auth, POLICY, "front_door_social_worker", purpose=purpose),
        )
        assert r.status_code == 403, r.text
        assert "seq" not in r.text
        [row] = rows_of_request(db, r)
        assert row["outcome"] == "DENY"


def test_the_chain_and_child_index_counts_agree(client, auth, db):
    some_history(client, auth)
    with db.read_session() as s:
        indexed = s.scalar(select(func.count(func.distinct(EVENT_CHILDREN.c.audit_seq))))
    rows = audit_rows(db)
    assert indexed == sum(1 for row in rows if row["child_ids"])


def test_a_read_by_another_agency_notifies_the_agency_holding_the_open_case(client, auth, db):
    # AUTHZ-10 (CP-IS pattern): YJS holds an open case, so it hears of every read by another agency.
    child = seed_child_in_every_scope(client, auth)
    outsider_read = client.get(record_url(str(uuid.uuid4())), headers=reader(auth, POLICY, "front_door_social_worker"))
    assert outsider_read.status_code == 404
    front_door = client.get(record_url(child.child_id), headers=reader(auth, POLICY, "front_door_social_worker"))
    own = client.get(record_url(child.child_id), headers=reader(auth, POLICY, "yjs_practitioner"))
    assert (front_door.status_code, own.status_code) == (200, 200)

    r = client.get("/api/v1/notifications", headers=reader(auth, POLICY, "yjs_practitioner"))
    assert r.status_code == 200, r.text
    [note] = r.json()
    assert (note["child_id"], note["reader_agency"], note["reader_roles"], note["purpose"]) == (
        child.child_id,
        "social_care",
        ["front_door_social_worker"],
        "front_door_decision",
    )
    [row] = rows_of_request(db, r)
    assert (row["action"], row["outcome"], row["child_ids"]) == ("read_notifications", "ALLOW", [child.child_id])
    # Agencies with no open case for the child hear nothing; others may not read notifications at all.
    assert (
        client.get("/api/v1/notifications", headers=reader(auth, POLICY, "front_door_social_worker")).status_code == 403
    )


def test_the_disclosure_log_pages_back_with_before_up_to_the_largest_seq(client, auth, db):
    child = seed_child_in_every_scope(client, auth)
    officer = reader(auth, POLICY, "privacy_officer", sub="dpo-pages")
    log = "/api/v1/audit/events"
    first = client.get(log, params={"child_id": child.child_id, "limit": 2}, headers=officer)
    assert first.status_code == 200 and len(first.json()) == 2
    last_seq = first.json()[-1]["seq"]
    rest = client.get(log, params={"child_id": child.child_id, "before": last_seq}, headers=officer).json()
    assert rest and all(e["seq"] < last_seq for e in rest)
    # The largest seq the column holds is a valid "before" (everything); one past it names the field.
    everything = client.get(log, params={"child_id": child.child_id, "before": 2**63 - 1}, headers=officer)
    assert everything.status_code == 200 and everything.json()[0]["action"] == "read_audit"
    past = client.get(log, params={"child_id": child.child_id, "before": 2**63}, headers=officer)
    assert past.status_code == 422, past.text
    assert [e["field"] for e in past.json()["errors"]] == ["query.before"]
