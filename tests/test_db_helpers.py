"""The ingest path's statement helpers in app.db: they must store and find exactly what SQLAlchemy's
own execution would, on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import String, bindparam, cast, event, insert, literal, select
from sqlalchemy.exc import IntegrityError

from app.audit.chain import Actor, Entry, append, take_turn, verify
from app.db import (
    AmongIds,
    AmongTexts,
    JsonText,
    insert_if_absent,
    insert_rows,
    list_param,
    run_compiled,
    time_ordered_id,
)
from app.people.models import Child, ChildIdentifier, IdentityReview, PersonIndex
from app.records.models import Record, RecordSubject

NOW = datetime(2026, 11, 30, 8, 30, 15, 123456, tzinfo=UTC)


def _record(**overrides: object) -> dict[str, object]:
    row = {
        "id": uuid.uuid4(),
        "record_type": "ppn",
        "agency": "police",
        "source_ref": "PPN-1",
        "version": 1,
        "first_received_at": NOW,
        "updated_at": NOW,
    }
    return {**row, **overrides}


def test_insert_rows_stores_what_a_core_insert_stores(db):
    """Ids, aware timestamps, dates, booleans and JSON read back the same through the ORM, whichever
    way they were written."""
    child_a, child_b, record = uuid.uuid4(), uuid.uuid4(), _record()
    subject = {
        "record_id": record["id"],
        "position": 0,
        "role": "victim",
        "arrested": False,
        "given_key": "ALEX",
        "family_key": "SMITH",
        "date_of_birth": date(2010, 1, 2),
        "record_type": "ppn",
        "event_at": NOW,
        "self_defined_code": "W1",
    }
    review = {"status": "open", "created_at": NOW, "score": 7.5, "evidence": {"given_name": "agree", "n": [1, 2]}}
    with db.writing() as session:
        conn = session.connection()
        conn.execute(insert(Child.__table__), {"id": child_a, "created_at": NOW, "merged_into": None})
        insert_rows(conn, Child.__table__, {"id": child_b, "created_at": NOW, "merged_into": None})
        insert_rows(conn, Record.__table__, record)
        insert_rows(
            conn,
            RecordSubject.__table__,
            [{**subject, "child_id": child_b}, {**subject, "position": 1, "child_id": child_a}],
        )
        conn.execute(
            insert(IdentityReview.__table__),
            {**review, "id": uuid.uuid4(), "child_id": child_a, "candidate_id": child_b},
        )
        insert_rows(
            conn, IdentityReview.__table__, {**review, "id": uuid.uuid4(), "child_id": child_b, "candidate_id": child_a}
        )
    with db.read_session() as session:
        children = {c.id: c for c in session.scalars(select(Child))}
        assert children[child_a].created_at == children[child_b].created_at == NOW
        subjects = session.scalars(select(RecordSubject).order_by(RecordSubject.position)).all()
        assert [s.child_id for s in subjects] == [child_b, child_a]
        assert all(s.event_at == NOW and s.date_of_birth == date(2010, 1, 2) and s.arrested is False for s in subjects)
        reviews = session.scalars(select(IdentityReview)).all()
        assert len(reviews) == 2
        assert all(r.evidence == review["evidence"] and r.score == 7.5 for r in reviews)
        # And what was written raw is found by Core's comparisons (the stored forms are the same).
        found = session.execute(select(Child.id).where(Child.created_at == NOW, Child.id == child_b)).scalar()
        assert found == child_b


def test_json_serialised_ahead_is_stored_as_the_json_it_holds(db):
    """A record's body arrives serialised (``JsonText``): it is stored as the same JSON a dict
    would be, not as a JSON string, by ``insert_rows`` and by Core; a plain ``str`` is still a
    JSON string."""
    evidence = {"given_name": "agree", "note": 'Zoë\'s "quote"', "n": [1, 2.5, None], "deep": {"x": True}}
    ahead = JsonText.of(evidence)
    review = {"status": "open", "created_at": NOW, "score": 1.0}
    rows = [(uuid.uuid4(), evidence), (uuid.uuid4(), ahead), (uuid.uuid4(), "a plain string")]
    with db.writing() as session:
        conn = session.connection()
        a, b = uuid.uuid4(), uuid.uuid4()
        insert_rows(conn, Child.__table__, [{"id": c, "created_at": NOW, "merged_into": None} for c in (a, b)])
        insert_rows(
            conn,
            IdentityReview.__table__,
            {**review, "id": rows[0][0], "child_id": a, "candidate_id": b, "evidence": evidence},
        )
        insert_rows(
            conn,
            IdentityReview.__table__,
            {**review, "id": rows[1][0], "child_id": b, "candidate_id": a, "evidence": ahead},
        )
        conn.execute(
            insert(IdentityReview.__table__),
            {**review, "id": rows[2][0], "child_id": a, "candidate_id": a, "evidence": rows[2][1]},
        )
    with db.read_session() as session:
        stored = dict(session.execute(select(IdentityReview.id, IdentityReview.evidence)).all())
        texts = {
            row_id: session.execute(
                select(cast(IdentityReview.evidence, String)).where(IdentityReview.id == row_id)
            ).scalar_one()
            for row_id, _ in rows[:2]
        }
    assert stored[rows[0][0]] == stored[rows[1][0]] == evidence
    assert stored[rows[2][0]] == "a plain string"
    assert texts[rows[0][0]] == texts[rows[1][0]]


def test_insert_rows_returns_the_generated_key(db):
    from app.people.linking import _INSERT_PROFILE

    with db.writing() as session:
        conn = session.connection()
        child = uuid.uuid4()
        insert_rows(conn, Child.__table__, {"id": child, "created_at": NOW, "merged_into": None})
        row = {"child_id": child, "given_name": "Alex", "family_name": "Smith", "date_of_birth": None}
        first = insert_rows(conn, _INSERT_PROFILE, {**row, "sex": None, "postcode": None, "created_at": NOW})[1][0]
        second = insert_rows(conn, _INSERT_PROFILE, {**row, "sex": "male", "postcode": None, "created_at": NOW})[1][0]
    assert isinstance(first, int) and second > first


def test_insert_rows_raises_sqlalchemys_integrity_error_and_the_transaction_rolls_back(db):
    """in_transaction retries on SQLAlchemy's IntegrityError: a raw driver error would escape it."""
    child = uuid.uuid4()
    with pytest.raises(IntegrityError):
        with db.writing() as session:
            conn = session.connection()
            insert_rows(conn, Child.__table__, {"id": child, "created_at": NOW, "merged_into": None})
            insert_rows(conn, Child.__table__, {"id": child, "created_at": NOW, "merged_into": None})
    with db.read_session() as session:
        assert session.scalar(select(Child.id)) is None


def test_insert_rows_refuses_to_leave_out_a_column_sqlalchemy_would_fill(db):
    with db.writing() as session, pytest.raises(ValueError, match="need values"):
        insert_rows(session.connection(), IdentityReview.__table__, {"child_id": uuid.uuid4()})


def test_insert_if_absent_says_whether_it_inserted(db):
    with db.writing() as session:
        conn = session.connection()
        assert insert_if_absent(conn, Record.__table__, ("agency", "record_type", "source_ref"), _record())
        assert not insert_if_absent(conn, Record.__table__, ("agency", "record_type", "source_ref"), _record())
        assert insert_if_absent(
            conn, Record.__table__, ("agency", "record_type", "source_ref"), _record(version=2, source_ref="PPN-2")
        )
    with db.read_session() as session:
        assert session.scalar(select(Record.source_ref).where(Record.version == 2)) == "PPN-2"


def test_among_ids_and_texts_with_a_list_parameter_find_the_listed_rows_only(db):
    ids = [uuid.uuid4() for _ in range(3)]
    with db.writing() as session:
        conn = session.connection()
        for n, child in enumerate(ids):
            insert_rows(conn, Child.__table__, {"id": child, "created_at": NOW, "merged_into": None})
            insert_rows(
                conn,
                ChildIdentifier.__table__,
                {"child_id": child, "scheme": "upn", "value": f"A{n}'\"{{,}}", "created_at": NOW},
            )
    by_id = select(Child.id).where(AmongIds(Child.id, list_param("ids")))
    by_value = select(ChildIdentifier.child_id).where(
        AmongTexts(ChildIdentifier.value, list_param("values", AmongTexts))
    )
    with db.read_session() as session:
        assert set(session.scalars(by_id, {"ids": ids[:2]})) == set(ids[:2])
        assert list(session.scalars(by_id, {"ids": []})) == []
        # Quotes, braces and commas are values, not syntax, on both databases.
        assert list(session.scalars(by_value, {"values": ["A2'\"{,}", "nobody"]})) == [ids[2]]


def test_the_turn_brings_the_head_and_the_append_follows_it(db):
    actor = Actor("tester", "police", ("agency_system",))
    with db.writing() as session:
        append(session.connection(), Entry(actor, "ingest", "ALLOW"))
    with db.writing() as session:
        conn = session.connection()
        take_turn(conn)  # as the kept quality rows do, before the audit append
        assert append(conn, Entry(actor, "ingest", "ALLOW")) == 2
    with db.read_session() as session:
        assert verify(session.connection()).ok


def test_time_ordered_ids_sort_by_when_they_were_made_and_do_not_repeat(monkeypatch):
    """Records' ids grow with time, so a bulk import appends to its indexes instead of writing all
    over them; they are still UUIDs (version 7), and ids made in the same millisecond differ."""
    import app.db as db_module

    clock = iter([1_790_000_000_000_000_000 + step * 1_000_000 for step in (0, 0, 1, 2**20)])
    monkeypatch.setattr(db_module.time, "time_ns", lambda: next(clock))
    ids = [time_ordered_id() for _ in range(4)]
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert len(set(ids)) == 4
    assert ids[0].hex[:12] == ids[1].hex[:12] == format(1_790_000_000_000, "012x")
    assert max(ids[:2]) < ids[2] < ids[3]
    assert sorted(ids, key=lambda i: i.hex) == sorted(ids)  # SQLite stores the hex: same order


def test_run_compiled_gives_the_rows_and_values_sqlalchemy_gives(db):
    """Ids, dates and timestamps come back typed, a statement's own values (a literal, a LIMIT) are
    bound, and a list parameter works as it does through ``Connection.execute``."""
    children = sorted(uuid.uuid4() for _ in range(3))
    with db.writing() as session:
        conn = session.connection()
        for n, child in enumerate(children):
            insert_rows(conn, Child.__table__, {"id": child, "created_at": NOW, "merged_into": None})
            row = {
                "child_id": child,
                "given_name": "Alex",
                "family_name": "Smith",
                "date_of_birth": date(2010, 1, 2 + n),
            }
            insert_rows(conn, PersonIndex.__table__, {**row, "sex": None, "postcode": None, "created_at": NOW})
    query = (
        select(PersonIndex.child_id, PersonIndex.date_of_birth, PersonIndex.created_at, literal("ppn"))
        .where(AmongIds(PersonIndex.child_id, list_param("ids")), PersonIndex.given_name == bindparam("given"))
        .order_by(PersonIndex.date_of_birth)
        .limit(2)
    )
    params = {"ids": children, "given": "Alex"}
    with db.read_session() as session:
        conn = session.connection()
        expected = [tuple(r) for r in conn.execute(query, params)]
        assert run_compiled(conn, query, params) == expected
        assert expected == [(children[0], date(2010, 1, 2), NOW, "ppn"), (children[1], date(2010, 1, 3), NOW, "ppn")]
        assert run_compiled(conn, query, {"ids": children, "given": "Sam"}) == []


def test_run_compiled_refuses_a_list_expanded_as_it_runs_and_raises_sqlalchemys_errors(db):
    with db.read_session() as session, pytest.raises(ValueError, match="expanded"):
        run_compiled(session.connection(), select(Child.id).where(Child.id.in_([uuid.uuid4()])))
    child = uuid.uuid4()
    add = insert(Child.__table__).values(id=bindparam("id"), created_at=bindparam("at"))
    with pytest.raises(IntegrityError):
        with db.writing() as session:
            run_compiled(session.connection(), add, {"id": child, "at": NOW})
            run_compiled(session.connection(), add, {"id": child, "at": NOW})
    with db.read_session() as session:
        assert session.scalar(select(Child.id)) is None


def test_statement_listeners_see_the_statements_run_on_the_cursor_before_and_after(db):
    """Statement counters and timers (bench_record's count, a tracer) see run_compiled's and
    insert_rows' statements as they see SQLAlchemy's own: both events, in order, once each."""
    seen: list[tuple[str, str]] = []

    def before(conn, cursor, statement, *_):  # noqa: ANN001, ANN202
        seen.append(("before", statement.split()[0]))

    def after(conn, cursor, statement, *_):  # noqa: ANN001, ANN202
        seen.append(("after", statement.split()[0]))

    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        with db.writing() as session:
            conn = session.connection()
            insert_rows(conn, Child.__table__, {"id": uuid.uuid4(), "created_at": NOW, "merged_into": None})
            assert run_compiled(conn, select(literal(1))) == [(1,)]
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)
    ours = [entry for entry in seen if entry[1] in ("INSERT", "SELECT")]
    assert ours == [("before", "INSERT"), ("after", "INSERT"), ("before", "SELECT"), ("after", "SELECT")]


def test_sqlite_timestamps_are_stored_as_sqlalchemy_would_store_them():
    """UTCDateTime's one-call SQLite bind processor gives the text SQLAlchemy's own composition
    (process_bind_param, then SQLite's DATETIME format) gives: stored values must compare and sort
    the same as every value written before it."""
    from datetime import timedelta, timezone

    from sqlalchemy.dialects import sqlite
    from sqlalchemy.types import TypeDecorator

    from app.db import UTCDateTime

    dialect = sqlite.dialect()
    kind = UTCDateTime().dialect_impl(dialect)  # as statements are compiled for SQLite
    fast = kind.bind_processor(dialect)
    composed = TypeDecorator.bind_processor(kind, dialect)
    london = timezone(timedelta(hours=1))
    values = [
        NOW,
        NOW.replace(microsecond=0),
        datetime(1, 1, 2, 0, 0, 0, 1, tzinfo=UTC),
        datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, tzinfo=london),  # the hour the clocks go forward
        datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),  # the day before in UTC
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
    ]
    assert [fast(v) for v in values] == [composed(v) for v in values]
    assert fast(NOW) == "2026-11-30 08:30:15.123456"
    assert fast(None) is None
    with pytest.raises(TypeError, match="naive"):
        fast(datetime(2026, 11, 30, 8, 30))
