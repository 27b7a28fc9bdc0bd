"""Bulk import of JSON Lines: each line ``{"type": ..., "agency": ..., "record": {...}}``.

Every line goes through the same validation, policy check and ingest rules as the API. Lines are
validated first (a bad one is reported by number and never written), then each chunk of good
lines is stored in one transaction by ``ingest_many``: the same decisions as one ``ingest`` after
another, in a few statements per table instead of a dozen per record. If the database refuses a
chunk (a conflicting version), the chunk is stored again line by line, each in its own savepoint,
so that the bad line is named and the others load. Re-running an import after a crash is safe,
because the natural key makes repeated lines "unchanged".
"""

from __future__ import annotations

import gc
import json
import pickle
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from multiprocessing import get_context
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.db import BulkLoad, Database, bulk_loading, refresh_statistics
from app.errors import ProblemError, pydantic_errors
from app.people.batch import Known
from app.people.linking import Thresholds
from app.policy.engine import can_ingest
from app.policy.loader import Policy
from app.quality.rules import QualityRules, load_rules
from app.records.kinds import KINDS, Clock
from app.records.schemas import RecordType
from app.records.service import Prepared, Writer, ingest, ingest_many, lost_a_race, parse
from app.security.caller import Caller

T = TypeVar("T")

# Lines per transaction: large enough that each table's writes go in a few statements and that
# index pages dirtied by one record are shared with others before the commit writes them; small
# enough that on SQLite, where a chunk holds the write lock from start to commit (about 2 s here),
# an agency system posting during an import waits no longer than that. Onto 300,000 records:
# 1,000 lines 787-881/s, 2,000 963/s, 4,000 1,007/s, 10,000 1,068/s.
CHUNK = 2000
CHUNK_ATTEMPTS = 3
# Person index rows an import keeps from chunk to chunk (``Known``): about 2 KB each in memory with
# their keys and identifiers (the process held 1.04 GB at 900,000 of the 1M demo records; the 1M
# database has 448,051 rows), so about 2 GB at this limit; past it, the next chunk starts over.
KNOWN_ROWS = 1_000_000
# Batches parsed in the second process and not yet taken: the next ones, ready when wanted.
PARSED_AHEAD = 2
ANALYSE_FROM = 4_000  # refresh planner statistics after this many lines, and at each doubling
# On SQLite a chunk holds the only write lock from its first read to its commit. A writer in another
# process (the API, taking posts during an import) waits in SQLite's busy handler, which tries again
# every 100 ms once it has waited a while; so a chunk starts no sooner than this after the last one
# ended, and such a post waits about one chunk, not until the import is over.
LOCK_FREE_SECONDS = 0.1
# The import is bound by its writing thread. When that thread comes back from the database, which
# works without the interpreter lock, it waits for the importing thread to give the lock up: up to
# 5 ms by default. 30,000 lines onto 100,000: 1,472 and 1,505/s at 1 ms, 1,443 and 1,431/s at 5 ms.
SWITCH_INTERVAL_SECONDS = 0.001


_NOT_IN_A_LINE = "a line has only type, agency and record"


class ImportLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: RecordType
    agency: str
    record: dict[str, Any]


@dataclass
class ImportReport:
    lines: int = 0
    created: int = 0
    amended: int = 0
    unchanged: int = 0
    superseded: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.errors)


def _describe(problem: ProblemError) -> str:
    if problem.errors:
        return "; ".join(f"{e.field}: {e.message}" for e in problem.errors)
    return problem.detail or problem.title


def import_lines(
    db: Database,
    lines: Iterable[str] | Iterable[bytes],
    policy: Policy,
    clock: Clock,
    *,
    operator: str = "shield-import",
    on_line: Callable[[ImportReport], None] | None = None,
    quality: QualityRules | None = None,
    thresholds: Thresholds | None = None,
) -> ImportReport:
    """Load every valid line; report each bad one with its line number.

    PPNs are stored with their quality findings under ``quality``, by default the rules in the
    policy's directory; people are resolved with ``thresholds`` (pass the settings' own).
    """
    with _collected_per_chunk() as chunk_done, _switching_often(), bulk_loading(db) as loading:
        return _import(db, lines, policy, clock, operator, on_line, quality, thresholds, chunk_done, loading)


@contextmanager
def _collected_per_chunk() -> Iterator[Callable[[], None]]:
    """Garbage collection once per chunk, over that chunk's objects only.

    What an import keeps (``Known``: millions of objects by a few hundred thousand records) made
    every full collection walk all of it: a fifth of the import's time at 300,000 records. Here
    automatic collection is off while the import runs; after each chunk, its cycles are collected
    and what survives is frozen (``gc.freeze``), so later collections do not walk it again. Both
    are undone at the end; ``gc.unfreeze`` thaws everything, so a process that froze objects of its
    own before an import (a pre-forking server) finds them thawed.
    """
    enabled = gc.isenabled()
    gc.disable()
    gc.freeze()

    def chunk_done() -> None:
        gc.collect(1)  # since the last freeze, everything new is in the young generations
        gc.freeze()

    try:
        yield chunk_done
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


@contextmanager
def _switching_often() -> Iterator[None]:
    """The interpreter lock handed between threads every ``SWITCH_INTERVAL_SECONDS`` while the import
    runs, not every 5 ms (Python's default); the process's own interval comes back at the end."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _import(
    db: Database,
    lines: Iterable[str] | Iterable[bytes],
    policy: Policy,
    clock: Clock,
    operator: str,
    on_line: Callable[[ImportReport], None] | None,
    quality: QualityRules | None,
    thresholds: Thresholds | None,
    chunk_done: Callable[[], None],
    loading: BulkLoad,
) -> ImportReport:
    report = ImportReport()
    pending: list[Parsed] = []
    rules = quality or load_rules(policy.source)
    parser = _Parser(policy, clock, rules, operator)
    with _ChunkWriter(db, report, rules, thresholds, chunk_done, loading) as writer:
        for batch in _parsed(lines, parser):
            for number, outcome in batch:
                if outcome is None:
                    continue  # a blank line
                report.lines += 1
                if isinstance(outcome, str):
                    report.errors.append((number, outcome))
                else:
                    agency, kind_name, record, prepared = outcome
                    writer_of = Writer(sub=operator, agency=agency)
                    pending.append((number, writer_of, KINDS[kind_name], record, prepared))
                    if len(pending) >= CHUNK:
                        writer.hand_over(pending)
                        pending = []
                if on_line:
                    on_line(report)
        if pending:
            writer.hand_over(pending)
        writer.finish()
    report.errors.sort(key=lambda error: error[0])  # a chunk's refusals come after later lines' parse errors
    return report


# A line parsed: its number and a blank (None), why it was refused (str), or what to store (the
# agency, the record type, the record, ``Prepared``).
ParsedLine = tuple[int, None | str | tuple[str, RecordType, Any, Prepared]]
Parsed = tuple[int, Writer, Any, Any, Prepared]


@dataclass(frozen=True)
class _Parser:
    """Everything a line's validation needs, whichever process runs it: a pure function of the line."""

    policy: Policy
    clock: Clock
    rules: QualityRules
    operator: str

    def __call__(self, batch: list[tuple[int, str | bytes]]) -> list[ParsedLine]:
        return [(number, self.line(raw)) for number, raw in batch]

    def line(self, raw: str | bytes) -> None | str | tuple[str, RecordType, Any, Prepared]:
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return f"not UTF-8 text (byte 0x{raw[exc.start]:02X} at byte {exc.start + 1}): save the file as UTF-8"
        # The line without its end (a JSON error at the end of the line is then placed there, not
        # at column 1 of a line after it), and without a byte order mark (a BOM-writing editor).
        raw = raw.rstrip("\r\n").removeprefix("\ufeff")
        if not raw.strip():
            return None
        decoded = _json(raw)
        if isinstance(decoded, str):
            return decoded
        if not isinstance(decoded.value, dict):
            return 'not an object: each line is {"type": ..., "agency": ..., "record": {...}}'
        try:
            line = ImportLine.model_validate(decoded.value)
            kind = KINDS[line.type]
            caller = Caller(sub=self.operator, agency=line.agency, roles=("agency_system",))
            decision = can_ingest(self.policy, caller, kind.name)
            if not decision:
                raise ProblemError(403, "Forbidden", decision.reason)
            record = parse(kind, line.record, self.clock)
            return line.agency, line.type, record, Prepared.of(kind, record, self.rules)
        except ValidationError as exc:
            errors = pydantic_errors(exc.errors(), unknown=_NOT_IN_A_LINE)
            return "; ".join(f"{e.field}: {e.message}" for e in errors)
        except ProblemError as problem:
            return _describe(problem)


class _Decoded(NamedTuple):
    value: Any


def _json(raw: str) -> _Decoded | str:
    """The line's JSON value, or why it is not JSON this import reads."""
    try:
        return _Decoded(json.loads(raw))
    except json.JSONDecodeError as exc:
        return f"not valid JSON: {exc.msg.removesuffix(' at')} at column {exc.colno}"
    except RecursionError:
        return "not valid JSON here: nested too deeply"
    except ValueError as exc:  # a number of more digits than Python converts
        return f"not valid JSON here: {str(exc).split(':')[0]}"


def _parsed(lines: Iterable[str] | Iterable[bytes], parser: _Parser) -> Iterator[list[ParsedLine]]:
    """The lines parsed, a batch of ``CHUNK`` at a time, in order.

    The first batch is parsed here. If there are more, they are parsed in a second process, the
    batches after the next one while this process stores the last: parsing and validating is a
    fifth of an import's work, and in a thread it would take turns with the storing thread for the
    interpreter lock (tried: slower). What crosses back is pickled (a quarter of the parsing's
    cost); it is unpickled here, one batch at a time, while the storing thread commits.
    """
    batches = _batched(enumerate(lines, start=1), CHUNK)
    first = next(batches, None)
    if first is None:
        return
    yield parser(first)
    second = next(batches, None)
    if second is None:
        return
    with _parsing_process(parser) as elsewhere:
        with _interrupts_ignored():  # by the process the first submit starts, from its first instant
            waiting = deque([elsewhere.submit(_parse_elsewhere, second)])
        for batch in batches:
            waiting.append(elsewhere.submit(_parse_elsewhere, batch))
            if len(waiting) > PARSED_AHEAD:
                yield pickle.loads(waiting.popleft().result())  # noqa: S301 - from our own process
        while waiting:
            yield pickle.loads(waiting.popleft().result())  # noqa: S301 - from our own process


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


@contextmanager
def _parsing_process(parser: _Parser) -> Iterator[ProcessPoolExecutor]:
    # Spawned, not forked: this process has threads (the WAL's checkpointer) and open connections.
    pool = ProcessPoolExecutor(
        max_workers=1, mp_context=get_context("spawn"), initializer=_become_parser, initargs=(parser,)
    )
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _interrupts_ignored() -> Iterator[None]:
    """SIGINT ignored here while a child process starts, so that the child starts ignoring it (a
    spawned Python keeps an inherited SIG_IGN): Ctrl-C reaches the whole process group, and one
    pressed while the parsing process was still starting printed its traceback. Only the main
    thread may set a handler; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


_PARSER: _Parser | None = None


def _become_parser(parser: _Parser) -> None:
    global _PARSER  # noqa: PLW0603 - the parsing process's one parser, set as it starts
    _PARSER = parser


def _parse_elsewhere(batch: list[tuple[int, str | bytes]]) -> bytes:
    assert _PARSER is not None
    # Pickled here, so that the importing process's pool thread only hands bytes over and the
    # unpickling runs when the importing thread asks for the batch.
    return pickle.dumps(_PARSER(batch), protocol=pickle.HIGHEST_PROTOCOL)


class _ChunkWriter:
    """Stores an import's chunks in order, one at a time, on a thread of its own.

    ``hand_over`` returns as soon as the chunk's transaction starts its commit, so the importing
    thread takes the next chunk's parsed lines (the first chunk's it parses itself; see
    ``_parsed``) while the database writes the last one to disk: that commit is SQLite's or
    PostgreSQL's own work, and runs without the interpreter lock, on the other core. A
    chunk still starts only when the one before has committed, so every chunk is stored exactly as
    it was before. The writing thread's error is raised in the importing thread, at the next
    ``hand_over`` or at ``finish``.
    """

    def __init__(
        self,
        db: Database,
        report: ImportReport,
        rules: QualityRules,
        thresholds: Thresholds | None,
        chunk_done: Callable[[], None],
        loading: BulkLoad,
    ) -> None:
        self._db, self._report, self._rules, self._thresholds = db, report, rules, thresholds
        self._chunk_done, self._loading = chunk_done, loading
        self._known = Known(limit=KNOWN_ROWS)
        self._stored, self._analysed_at = 0, ANALYSE_FROM
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shield-import")
        self._storing: Future[None] | None = None
        self._committing = threading.Event()
        self._ended = float("-inf")

    def __enter__(self) -> _ChunkWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.shutdown(wait=True)  # an interrupted import still ends its chunk's transaction

    def hand_over(self, chunk: list[Parsed]) -> None:
        self.finish()
        self._committing.clear()
        self._storing = storing = self._thread.submit(self._store, chunk)
        self._committing.wait()
        if storing.done():
            storing.result()  # it failed before its commit: stop now, not a chunk later

    def finish(self) -> None:
        """Wait for the chunk handed over last; raise its error."""
        if self._storing is not None:
            storing, self._storing = self._storing, None
            storing.result()
            self._chunk_done()

    def _store(self, chunk: list[Parsed]) -> None:
        time.sleep(max(0.0, self._ended + LOCK_FREE_SECONDS - time.monotonic()))
        self._loading.settle()
        try:
            _store_chunk(
                self._db,
                chunk,
                self._report,
                self._rules,
                self._thresholds,
                self._known,
                self._loading.prepare,
                self._committing.set,
            )
            self._stored += len(chunk)
            if self._stored >= self._analysed_at:
                # PostgreSQL plans from table statistics; a table an import has doubled since
                # autovacuum last looked (or with autovacuum off) gets scans where an index search
                # was wanted.
                with self._db.writing() as session:
                    refresh_statistics(session.connection())
                self._analysed_at *= 2
        finally:
            self._ended = time.monotonic()
            self._committing.set()


def _store_chunk(
    db: Database,
    chunk: list[Parsed],
    report: ImportReport,
    quality: QualityRules,
    thresholds: Thresholds | None,
    known: Known,
    prepare: Callable[[Connection], None],
    committing: Callable[[], None],
) -> None:
    """Store a chunk in one transaction; if any line is refused, redo the chunk line by line.
    ``committing`` is called when the chunk's writes are done and its commit begins.

    Lines reaching here have passed validation, so refusals (a conflicting version) are rare:
    the fast path needs no savepoint per line, and the careful path isolates each line.
    """
    outcomes: list[str] = []
    for attempt in range(CHUNK_ATTEMPTS):
        try:
            with db.writing() as session:
                prepare(session.connection())
                items = [(writer, kind, record, prepared) for _, writer, kind, record, prepared in chunk]
                results = ingest_many(session, items, thresholds=thresholds, known=known)
                outcomes = [r.outcome for r in results]
                committing()
            break
        except (ProblemError, IntegrityError):
            _store_line_by_line(db, chunk, report, quality, thresholds)
            return
        except DBAPIError as exc:
            # PostgreSQL undid the chunk to let a post go on (``lost_a_race``): stored again whole
            # (``known`` keeps nothing of an uncommitted chunk: ``Known.adopt``).
            if not lost_a_race(exc) or attempt == CHUNK_ATTEMPTS - 1:
                raise
    known.kept()
    for outcome in outcomes:
        setattr(report, outcome, getattr(report, outcome) + 1)


def _store_line_by_line(
    db: Database,
    chunk: list[Parsed],
    report: ImportReport,
    quality: QualityRules,
    thresholds: Thresholds | None,
) -> None:
    with db.writing() as session:
        for number, writer, kind, record, _ in chunk:
            try:
                with session.begin_nested():
                    result = ingest(session, writer, kind, record, quality=quality, thresholds=thresholds)
            except ProblemError as problem:
                report.errors.append((number, _describe(problem)))
                continue
            except IntegrityError:
                report.errors.append((number, "conflicts with a record stored at the same time; import it again"))
                continue
            setattr(report, result.outcome, getattr(report, result.outcome) + 1)
