"""Writes that decide from what they read, racing: the second waits its turn and decides on what the
first committed. On PostgreSQL (READ COMMITTED, no in-process write lock) each of these had gone
wrong: the second read before the first committed, and decided without it. On SQLite the single
writer already made them take turns; the tests hold there too."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from app.errors import ProblemError
from app.people.merging import merge
from app.people.models import Child, ChildMerge
from app.records.examples import PERSON
from app.records.kinds import KINDS, Clock
from app.records.models import Record, RecordSubject
from app.records.service import IngestResult, Writer, in_transaction, ingest, parse
from tests.factories import TYPES, ae_attendance, ppn
from tests.quality.builders import RULES

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CLOCK = Clock(now=NOW, tz=ZoneInfo("Europe/London"), skew=timedelta(minutes=5))
# How long the first transaction stays open once its work is done, for the second to run into it.
# Waiting its turn, the second cannot finish sooner; deciding on stale reads, it had (or was
# blocked on a row the first holds, and went on with what it read once the first committed).
HOLD_SECONDS = 1.0
ROUNDS = 20


def store(session: Any, record_type: str, body: dict[str, Any]) -> IngestResult:
    kind = KINDS[record_type]
    writer = Writer(sub=f"{record_type}-system", agency=TYPES[record_type][0])
    return ingest(session, writer, kind, parse(kind, body, CLOCK), now=NOW, quality=RULES)


def posted(db, record_type: str, body: dict[str, Any]) -> IngestResult:
    """As the endpoint stores a post: retried when a concurrent writer got in first."""
    return in_transaction(db, lambda conn: store(conn, record_type, body))


def race(db, first: Callable[[Any], Any], second: Callable[[], Any]) -> Any:
    """Run ``first`` in a write transaction held open until ``second`` (started in another thread
    once ``first`` has done its work) finishes or ``HOLD_SECONDS`` pass; commit; return what
    ``second`` returned, or raise what it raised."""
    ready, finished = threading.Event(), threading.Event()
    out: dict[str, Any] = {}

    def run_second() -> None:
        ready.wait()
        try:
            out["value"] = second()
        except Exception as exc:  # noqa: BLE001 - handed back to the test
            out["error"] = exc
        finally:
            finished.set()

    thread = threading.Thread(target=run_second)
    thread.start()
    with db.writing() as session:
        first(session)
        ready.set()
        finished.wait(HOLD_SECONDS)
    thread.join(30)
    assert not thread.is_alive()
    if "error" in out:
        raise out["error"]
    return out["value"]


def anonymous(**overrides: Any) -> dict[str, Any]:
    """The example child with no identifier: only the person index can join two records of it."""
    return {**PERSON, "identifiers": {}, **overrides}


def test_amendments_racing_leave_the_highest_version_current(db):
    # Both start at once: each must read the record after the other's turn, so no hold is forced
    # here; without turns, most rounds on PostgreSQL left version 2 current.
    for n in range(ROUNDS):
        ref = f"PPN-R1-{n}"
        posted(db, "ppn", ppn(source_ref=ref, version=1))
        start = threading.Barrier(2)

        def amend(version: int, ref: str = ref, start: threading.Barrier = start) -> None:
            start.wait()
            posted(db, "ppn", ppn(source_ref=ref, version=version, reason_for_referral=f"Version {version}"))

        threads = [threading.Thread(target=amend, args=(v,)) for v in (3, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        with db.read_session() as s:
            assert s.scalar(select(Record.version).where(Record.source_ref == ref)) == 3, f"round {n}"


def test_two_agencies_posting_about_one_new_child_at_once_make_one_child(db):
    first: list[IngestResult] = []
    other = race(
        db,
        lambda s: first.append(store(s, "ppn", ppn(source_ref="PPN-R2", person=anonymous()))),
        lambda: posted(db, "ae_attendance", ae_attendance(source_ref="AE-R2", person=anonymous())),
    )
    with db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(Child)) == 1
    assert other.children[0].child_id == first[0].children[0].child_id


def _two_children(db) -> tuple[uuid.UUID, uuid.UUID]:
    """A child known by NHS number and another known by police id: a merge of them is allowed."""
    survivor = posted(db, "ppn", ppn(source_ref="PPN-S"))
    police_id = {"police_person_id": "WYP-P-77"}
    absorbed = posted(
        db,
        "ppn",
        ppn(
            source_ref="PPN-A",
            person=anonymous(
                given_name="Amira",
                family_name="Khan",
                date_of_birth="2011-01-09",
                postcode="LS8 1AA",
                identifiers=police_id,
            ),
        ),
    )
    ids = uuid.UUID(survivor.children[0].child_id), uuid.UUID(absorbed.children[0].child_id)
    assert ids[0] != ids[1]
    return ids


def test_a_record_posted_while_its_child_is_merged_lands_with_the_surviving_child(db):
    survivor, absorbed = _two_children(db)
    again = anonymous(
        given_name="Amira",
        family_name="Khan",
        date_of_birth="2011-01-09",
        postcode="LS8 1AA",
        identifiers={"police_person_id": "WYP-P-77"},
    )
    racing = race(
        db,
        lambda s: merge(s.connection(), survivor, absorbed, "same child", "steward", NOW),
        lambda: posted(db, "ae_attendance", ae_attendance(source_ref="AE-R3", person=again)),
    )
    assert racing.children[0].child_id == str(survivor)
    with db.read_session() as s:
        under = s.scalars(select(RecordSubject.child_id).join(Record).where(Record.source_ref == "AE-R3")).all()
    assert under == [survivor]


def test_one_merge_decided_twice_at_once_merges_once(db):
    survivor, absorbed = _two_children(db)

    def merge_again() -> Any:
        with db.writing() as session:
            return merge(session.connection(), survivor, absorbed, "same child", "steward-2", NOW)

    with pytest.raises(ProblemError) as refused:
        race(db, lambda s: merge(s.connection(), survivor, absorbed, "same child", "steward", NOW), merge_again)
    assert refused.value.status == 409
    with db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(ChildMerge)) == 1


class _Deadlock(Exception):
    sqlstate = "40P01"


def test_a_transaction_the_database_undid_to_break_a_deadlock_is_run_again(db):
    # A post waiting for the writers' turn while holding a row a turn-holder writes next: PostgreSQL
    # undoes one of the two; run again, it finds the other's rows instead of answering 503.
    tries: list[int] = []

    def work(conn: Any) -> str:
        tries.append(1)
        if len(tries) == 1:
            raise OperationalError("INSERT ...", {}, _Deadlock())
        return "stored"

    assert in_transaction(db, work) == "stored" and len(tries) == 2
    with pytest.raises(OperationalError):
        in_transaction(db, lambda conn: (_ for _ in ()).throw(OperationalError("SELECT 1", {}, Exception())))
