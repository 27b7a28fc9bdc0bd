"""Ingest semantics: nothing lost, nothing doubled, owner from the token."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models import AuditEvent, Child, ChildIdentifier, Record, RecordSubject, RecordVersion
from app.records.kinds import KINDS
from tests.factories import BUILDERS, NHS_A, TYPES, incident, person


def count(db, model) -> int:
    with db.read_session() as s:
        return s.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("record_type", list(TYPES))
def test_each_record_type_round_trips(client, auth, db, record_type):
    agency, path = TYPES[record_type]
    body = BUILDERS[record_type]()
    r = client.post(f"/api/v1/{path}", json=body, headers=auth(agency))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["outcome"] == "created" and out["record_type"] == record_type and out["version"] == 1
    assert out["children"], "every record is linked to at least one child"
    with db.read_session() as s:
        rec = s.get(Record, __import__("uuid").UUID(out["id"]))
        assert (rec.agency, rec.record_type, rec.source_ref, rec.version) == (
            agency,
            record_type,
            body["source_ref"],
            1,
        )
        version = s.scalar(select(RecordVersion).where(RecordVersion.record_id == rec.id))
        assert version.body["source_ref"] == body["source_ref"]
        assert version.received_by == f"{agency}-agency_system"
        typed = s.get(KINDS[record_type].table, rec.id)
        assert typed is not None
    assert r.headers["cache-control"] == "no-store"


def test_the_same_body_twice_is_one_row_with_the_same_ids(client, auth, db):
    first = client.post("/api/v1/incidents", json=incident(), headers=auth())
    second = client.post("/api/v1/incidents", json=incident(), headers=auth())
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["outcome"] == "unchanged"
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["children"] == first.json()["children"]
    assert (count(db, Record), count(db, RecordVersion), count(db, RecordSubject)) == (1, 1, 2)


def test_an_amendment_keeps_the_old_version(client, auth, db):
    v1 = client.post("/api/v1/incidents", json=incident(), headers=auth()).json()
    r = client.post("/api/v1/incidents", json=incident(version=2, injury_severity="life_threatening"), headers=auth())
    assert r.status_code == 201 and r.json()["outcome"] == "amended"
    assert r.json()["id"] == v1["id"] and r.json()["current_version"] == 2
    with db.read_session() as s:
        versions = s.execute(select(RecordVersion.version, RecordVersion.body).order_by(RecordVersion.version)).all()
        assert [v for v, _ in versions] == [1, 2]
        assert versions[0].body["injury_severity"] == "serious"
        assert versions[1].body["injury_severity"] == "life_threatening"
        assert s.scalar(select(KINDS["incident"].table.injury_severity)) == "life_threatening"
    # The children stay the same children across the amendment.
    assert [c["child_id"] for c in r.json()["children"]] == [c["child_id"] for c in v1["children"]]


def test_a_late_older_version_is_kept_as_history_without_changing_the_current(client, auth, db):
    client.post("/api/v1/incidents", json=incident(version=3, weapon="firearm"), headers=auth())
    r = client.post("/api/v1/incidents", json=incident(version=2), headers=auth())
    assert r.status_code == 201 and r.json()["outcome"] == "superseded" and r.json()["current_version"] == 3
    with db.read_session() as s:
        assert s.scalar(select(KINDS["incident"].table.weapon)) == "firearm"
    assert count(db, RecordVersion) == 2


def test_same_version_different_body_is_409_and_changes_nothing(client, auth, db):
    client.post("/api/v1/incidents", json=incident(), headers=auth())
    r = client.post("/api/v1/incidents", json=incident(weapon="firearm"), headers=auth())
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 409 and "version" in r.json()["detail"]
    assert count(db, RecordVersion) == 1
    with db.read_session() as s:
        assert s.scalar(select(KINDS["incident"].table.weapon)) == "knife"


def test_the_same_source_ref_from_another_agency_is_another_record(client, auth, db):
    body = BUILDERS["ppn"](source_ref="REF-1")
    assert client.post("/api/v1/ppns", json=body, headers=auth("police")).status_code == 201
    ae = BUILDERS["ae_attendance"](source_ref="REF-1")
    assert client.post("/api/v1/ae-attendances", json=ae, headers=auth("health")).status_code == 201
    assert count(db, Record) == 2


def test_a_police_system_cannot_post_an_ae_attendance(client, auth, db):
    r = client.post("/api/v1/ae-attendances", json=BUILDERS["ae_attendance"](), headers=auth("police"))
    assert r.status_code == 403
    assert "police" in r.json()["detail"]
    assert count(db, Record) == 0


def test_a_schools_system_posts_only_its_own_schools_reports(client, auth, db):
    """A school's MIS (its token's org is its URN) that could report another school's pupil would
    take the child into its own safeguarding lead's view, and out of the real school's."""
    report = BUILDERS["education_report"]
    school, other = report()["school_urn"], "990101"
    ours = client.post("/api/v1/education-reports", json=report(), headers=auth("education", org=school))
    assert ours.status_code == 201, ours.text
    theirs = report(source_ref="EDU-OTHER", school_urn=other)
    refused = client.post("/api/v1/education-reports", json=theirs, headers=auth("education", org=school))
    assert refused.status_code == 403, refused.text
    assert refused.json()["detail"] == f"school_urn: this system posts only the records of {school}"
    batch = client.post(
        "/api/v1/batch",
        json={"records": [{"type": "education_report", "record": theirs}]},
        headers=auth("education", org=school),
    )
    assert [i["status"] for i in batch.json()["items"]] == [403]
    assert count(db, Record) == 1
    with db.read_session() as s:
        reasons = s.scalars(select(AuditEvent.reason).where(AuditEvent.outcome == "DENY")).all()
    assert reasons == ["not_own_org_education_report"] * 2
    # The council's education service (no org) reports for any school.
    council = client.post("/api/v1/education-reports", json=theirs, headers=auth("education"))
    assert council.status_code == 201, council.text


@pytest.mark.parametrize("role", ["front_door_social_worker", "shield_chair", "navigator"])
def test_people_cannot_post_records(client, auth, db, role):
    r = client.post("/api/v1/incidents", json=incident(), headers=auth("police", role))
    assert r.status_code == 403
    assert count(db, Record) == 0


def test_a_body_agency_field_cannot_choose_the_owner(client, auth, db):
    r = client.post("/api/v1/incidents", json=incident(agency="health"), headers=auth("police"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "agency"
    assert count(db, Record) == 0


def test_no_token_is_401_with_a_bearer_challenge(client, db):
    r = client.post("/api/v1/incidents", json=incident())
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["status"] == 401


def test_records_about_one_child_from_two_agencies_meet_on_the_nhs_number(client, auth, db):
    inc = client.post("/api/v1/incidents", json=incident(), headers=auth("police")).json()
    ae = client.post(
        "/api/v1/ae-attendances",
        json=BUILDERS["ae_attendance"](person=person(given_name="Ayesha", family_name="Begum-Ali")),
        headers=auth("health"),
    ).json()
    assert ae["children"][0]["child_id"] == inc["children"][0]["child_id"]
    with db.read_session() as s:
        assert s.scalar(select(ChildIdentifier.child_id).where(ChildIdentifier.value == NHS_A)) is not None


def test_batch_stores_exactly_the_good_items(client, auth, db):
    records = [
        {"type": "incident", "record": incident(source_ref="B-1")},
        {"type": "incident", "record": incident(source_ref="B-2", occurred_at="2026-11-20T22:15:00")},
        {"type": "ppn", "record": BUILDERS["ppn"](source_ref="B-3")},
        {"type": "ae_attendance", "record": BUILDERS["ae_attendance"](source_ref="B-4")},
        {"type": "incident", "record": incident(source_ref="B-1")},
    ]
    r = client.post("/api/v1/batch", json={"records": records}, headers=auth("police"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert [i["status"] for i in out["items"]] == [201, 422, 201, 403, 200]
    assert (out["received"], out["stored"], out["unchanged"], out["failed"]) == (5, 2, 1, 2)
    assert out["items"][1]["problem"]["errors"][0]["field"] == "records.1.record.occurred_at"
    with db.read_session() as s:
        assert sorted(s.scalars(select(Record.source_ref))) == ["B-1", "B-3"]


def test_batch_over_the_limit_is_413_and_stores_nothing(client, auth, db, app):
    limit = app.state.settings.max_batch_items
    records = [{"type": "incident", "record": incident(source_ref=f"L-{i}")} for i in range(limit + 1)]
    r = client.post("/api/v1/batch", json={"records": records}, headers=auth("police"))
    assert r.status_code == 413
    assert count(db, Record) == 0


def test_a_person_token_cannot_post_a_batch(client, auth, db):
    r = client.post(
        "/api/v1/batch",
        json={"records": [{"type": "incident", "record": incident()}]},
        headers=auth("social_care", "front_door_social_worker"),
    )
    assert r.status_code == 403
    assert count(db, Record) == 0


def test_children_are_created_once_per_child(client, auth, db):
    client.post("/api/v1/incidents", json=incident(), headers=auth())
    client.post("/api/v1/incidents", json=incident(source_ref="WYP-INC-2", crime_ref="13/999/26"), headers=auth())
    assert count(db, Child) == 2  # the victim and the suspect, each met again in the second incident


def test_batch_items_are_stored_where_single_posts_are_one_at_a_time_in_order(client, auth, db, monkeypatch):
    """Off the event loop; on SQLite on the database's one writer thread, as the single endpoint."""
    import threading

    from app.records import router

    stored: list[tuple[str, str]] = []
    real = router.ingest

    def ingest(session, writer, kind, record, **options):  # noqa: ANN001, ANN202
        stored.append((record.source_ref, threading.current_thread().name))
        return real(session, writer, kind, record, **options)

    monkeypatch.setattr(router, "ingest", ingest)
    assert client.post("/api/v1/incidents", json=incident(source_ref="S-0"), headers=auth("police")).status_code == 201
    records = [{"type": "incident", "record": incident(source_ref=f"S-{n}")} for n in range(1, 4)]
    r = client.post("/api/v1/batch", json={"records": records}, headers=auth("police"))
    assert [i["status"] for i in r.json()["items"]] == [201, 201, 201]
    assert [ref for ref, _ in stored] == ["S-0", "S-1", "S-2", "S-3"]
    if db.dialect == "sqlite":
        assert {thread for _, thread in stored} == {stored[0][1]}
        assert stored[0][1].startswith("shield-sqlite-writer")


def test_the_readmes_curl_posts_a_record(client, auth, db):
    # The first record a newcomer posts, copied from the README: it must be accepted as printed.
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    [(path, body)] = re.findall(r"curl -s -X POST http://127\.0\.0\.1:8000(\S+) .*? -d '([^']*)'", readme, re.S)
    r = client.post(path, content=body.encode(), headers={**auth("police"), "Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    assert r.json()["outcome"] == "created" and count(db, Record) == 1


@pytest.mark.parametrize(
    "body",
    [{"recordz": []}, {"records": [{"type": "incident", "record": incident()}] * 1001}, {"records": []}],
    ids=["misshapen", "too-large", "empty"],
)
def test_a_batch_from_a_caller_who_posts_nothing_is_403_on_record_before_its_body_is_read(client, auth, db, body):
    # A person's token learns nothing of the batch's schema or limits from a 422 or 413.
    r = client.post("/api/v1/batch", json=body, headers=auth("social_care", "front_door_social_worker"))
    assert r.status_code == 403, r.text
    with db.read_session() as s:
        [row] = s.execute(select(AuditEvent.action, AuditEvent.outcome, AuditEvent.reason)).all()
    assert tuple(row) == ("ingest", "DENY", "not_an_agency_system")
