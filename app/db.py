"""Database engine, session and column types.

Every difference between SQLite and PostgreSQL lives in this module: connection pragmas,
transaction start, the timestamp and JSON column types. Nothing else branches on the dialect.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator
from starlette.concurrency import run_in_threadpool

from app.config import get_settings

log = logging.getLogger("shield.db")

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp stored in UTC on both databases.

    SQLite has no timezone type, so values are stored naive-in-UTC there and made aware on the way
    out; PostgreSQL gets ``timestamptz``. Naive values are refused: a naive time from an agency
    system is ambiguous, and guessing is how clock-change bugs are born.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise TypeError("naive datetime refused: a timezone is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Any) -> Any:
        """On SQLite, ``process_bind_param`` and SQLite's ``DATETIME`` text format in one C call.

        Composed, the two cost a bulk import about 7% of its time (a dict of seven attributes
        %-formatted for every timestamp of every row). ``isoformat`` gives the same text: the year
        padded to four digits, always six digits of microseconds; a test compares the two.
        """
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise TypeError("naive datetime refused: a timezone is required")
            return value.astimezone(UTC).isoformat(" ", "microseconds")[:26]

        return process

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")


class SecondsBetween(FunctionElement[float]):
    """``SecondsBetween(later, earlier)``: the seconds from one ``UTCDateTime`` column to another.

    Timestamp arithmetic is spelled differently on each database (and SQLite stores these columns
    as text), so queries compare durations through this instead of adding intervals.
    """

    type = Float()
    name = "seconds_between"
    inherit_cache = True


@compiles(SecondsBetween, "postgresql")
def _seconds_between_pg(element: SecondsBetween, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"


class JSONArrayLength(FunctionElement[int]):
    """``JSONArrayLength(column)``: the number of items in a ``JSONType`` array column."""

    type = Integer()
    name = "json_array_length_"
    inherit_cache = True


@compiles(JSONArrayLength, "postgresql")
def _json_array_length_pg(element: JSONArrayLength, compiler: SQLCompiler, **kw: Any) -> str:
    return f"jsonb_array_length({compiler.process(element.clauses, **kw)})"


@compiles(JSONArrayLength, "sqlite")
def _json_array_length_sqlite(element: JSONArrayLength, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_array_length({compiler.process(element.clauses, **kw)})"


@compiles(SecondsBetween, "sqlite")
def _seconds_between_sqlite(element: SecondsBetween, compiler: SQLCompiler, **kw: Any) -> str:
    # julianday() keeps milliseconds, but as a float of ~2.5 million days: rounding to the
    # millisecond makes an exact 24 hours compare equal to 86400 instead of just either side.
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"ROUND((julianday({later}) - julianday({earlier})) * 86400.0, 3)"


class NotSearched(FunctionElement[Any]):
    """``NotSearched(column)``: the column, which SQLite is not to look things up by in an index
    (``+column``); PostgreSQL gets the column as it is.

    SQLite plans without table statistics, and prefers a covering index searched by two columns to
    one child's rows found through a third: in a subquery run for each child, that was a search
    through every child's rows each time (a 30,000-line import went from 18 s to 134 s). Wrapping
    the terms that lead into the wrong index leaves the planner only the right one.
    """

    name = "not_searched"
    inherit_cache = True

    def __init__(self, column: Any) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(NotSearched)
def _not_searched(element: NotSearched, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(NotSearched, "sqlite")
def _not_searched_sqlite(element: NotSearched, compiler: SQLCompiler, **kw: Any) -> str:
    return f"+{compiler.process(element.clauses, **kw)}"


class IdText(FunctionElement[str]):
    """An id read as its text (``8-4-4-4-12`` hex digits, as ``str(uuid)`` writes it), not as a
    ``uuid.UUID``: for code that reads thousands of ids only to compare, hash and print them.
    Building each ``uuid.UUID`` (from SQLite's 32 hex digits, in Python), hashing it in Python on
    every dict lookup and ``str()``-ing it for the output was a fifth of a briefing's time; here the
    database writes the text. Use through ``id_text(column)``."""

    type = String()
    name = "id_text"
    inherit_cache = True


@compiles(IdText, "postgresql")
def _id_text_pg(element: IdText, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS TEXT)"


@compiles(IdText, "sqlite")
def _id_text_sqlite(element: IdText, compiler: SQLCompiler, **kw: Any) -> str:
    # Stored as 32 lower-case hex digits (``uuid.hex``).
    column = compiler.process(element.clauses, **kw)
    parts = [f"substr({column}, {start}, {length})" for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))]
    return " || '-' || ".join(parts)


def id_text(column: Any) -> Any:
    """``column`` (a ``Uuid`` column) read as ``IdText``, under its own name."""
    return IdText(column).label(column.key)


class _IdList(TypeDecorator[list[Any]]):
    """A list of ids (``uuid.UUID`` or their text) bound as one text value: a ``uuid[]`` array
    literal on PostgreSQL (psycopg would adapt a list element by element, in Python), a JSON list
    of the 32 hex digits SQLAlchemy stores ids as on SQLite."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        ids = [str(i) for i in value]
        if dialect.name == "postgresql":
            return "{" + ",".join(ids) + "}"
        return json.dumps([i.replace("-", "") for i in ids])


class _TextList(TypeDecorator[list[str]]):
    """A list of strings bound as one value: a ``text[]`` on PostgreSQL, a JSON list on SQLite."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(String()))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return list(value) if dialect.name == "postgresql" else json.dumps(list(value))


class AmongIds(FunctionElement[bool]):
    """``AmongIds(column, ids)``: ``column IN ids`` for hundreds of ids bound as one value.

    An ``IN (...)`` list is a bound parameter per id, each built, type-processed and rendered on
    every execution: a briefing's four queries over its ~500 children spent more time on that than
    in the database. The planners search the column's index once per id either way. ``ids`` may be
    ``list_param(name)``, for a statement built once and run with the list as that parameter.
    """

    type = Boolean()
    name = "among_ids"
    inherit_cache = True
    # A condition as it stands (no ``= 1`` appended on SQLite, which would hide it from the index).
    _is_implicitly_boolean = True
    _list_type: type[TypeDecorator[Any]] = _IdList

    def __init__(self, column: Any, ids: Iterable[Any] | BindParameter[Any]) -> None:
        values = ids if isinstance(ids, BindParameter) else bindparam(None, list(ids), type_=self._list_type())
        super().__init__(column, values)


class AmongTexts(AmongIds):
    """``AmongIds`` for a text column: ``column IN values`` with the strings bound as one value."""

    name = "among_texts"
    inherit_cache = True
    _list_type = _TextList


def list_param(name: str, of: type[AmongIds] = AmongIds) -> BindParameter[Any]:
    """A named parameter for ``AmongIds`` (or ``AmongTexts``) in a statement built once."""
    return bindparam(name, type_=of._list_type())


@compiles(AmongIds, "postgresql")
def _among_ids_pg(element: AmongIds, compiler: SQLCompiler, **kw: Any) -> str:
    column, ids = (compiler.process(c, **kw) for c in element.clauses)
    # The array literal is parsed once per statement, in an InitPlan. A bare CAST is parsed wherever
    # it is evaluated: PostgreSQL does not fold a text-to-array cast (array_in is only STABLE), so
    # as a filter, or in a correlated subquery, it parsed all of the ids again for every row. The
    # import's kept quality rows (two thousand ids, two lists) took 2-4 s a chunk that way; 30,000
    # demo lines imported at 475-495/s before, 1,753-1,807/s after.
    return f"{column} = ANY((SELECT CAST({ids} AS UUID[]))::UUID[])"


@compiles(AmongTexts, "postgresql")
def _among_texts_pg(element: AmongTexts, compiler: SQLCompiler, **kw: Any) -> str:
    column, values = (compiler.process(c, **kw) for c in element.clauses)
    return f"{column} = ANY({values})"


@compiles(AmongIds, "sqlite")
def _among_ids_sqlite(element: AmongIds, compiler: SQLCompiler, **kw: Any) -> str:
    column, ids = (compiler.process(c, **kw) for c in element.clauses)
    return f"{column} IN (SELECT value FROM json_each({ids}))"  # noqa: S608 - compiled SQL, values are bound


def time_ordered_id() -> uuid.UUID:
    """A version 7 UUID (RFC 9562): the Unix time in milliseconds, then 74 random bits.

    For ids of rows written in bulk (records and their versions). A random id puts each new row
    on a random page of every index that starts with it (seven indexes begin with a record id), so
    once they outgrow the cache each chunk of an import rewrites pages all over them; ids that grow
    with time fill the last page. Importing 150,000 demo lines wrote 25% fewer bytes (15 GB, not
    20) and ran 5% faster. The time in the id is when the row was written, which the row holds.
    Children keep random ids: when Shield first heard of a child is not for its URL to say.
    """
    random_bits = int.from_bytes(os.urandom(10), "big")
    value = (time.time_ns() // 1_000_000) & ((1 << 48) - 1)
    value = (value << 4 | 0x7) << 12 | (random_bits >> 62) & 0xFFF  # version 7, then 12 random bits
    value = (value << 2 | 0b10) << 62 | random_bits & ((1 << 62) - 1)  # RFC 9562 variant, 62 random bits
    return uuid.UUID(int=value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSONType}


# The WAL file's size once a write has started it again from the top. SQLite otherwise keeps the
# file at its largest: after an import, about 500 MB of disk held until the last connection closed,
# which for the server is never.
WAL_KEEP_BYTES = 64 * 1024 * 1024


# Execution option that marks a connection as about to write; on SQLite it starts the
# transaction with BEGIN IMMEDIATE so that two writers queue on the busy timeout instead of
# failing with SQLITE_BUSY when a read lock is upgraded.
WRITE = {"shield_write": True}


def _configure_sqlite(engine: Engine) -> None:
    settings = get_settings()
    cache_mb, mmap_mb = settings.sqlite_cache_mb, max(settings.sqlite_mmap_mb, 0)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy (the "begin" hook below) instead of the
        # sqlite3 module's legacy implicit transactions, which break SAVEPOINTs.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute(f"PRAGMA cache_size=-{cache_mb * 1024}")
        cur.execute(f"PRAGMA mmap_size={mmap_mb * 1024 * 1024}")
        cur.execute(f"PRAGMA journal_size_limit={WAL_KEEP_BYTES}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("shield_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class JsonText(str):
    """A value for a ``JSONType`` column already serialised, as SQLAlchemy would (``json.dumps``):
    stored as it is. A record's body is serialised where it is prepared (for a bulk import, in
    the parsing process), not in the writing thread, which is the import."""

    @classmethod
    def of(cls, value: Any) -> JsonText:
        return cls(json.dumps(value))


def _serialise_json(value: Any) -> str:
    return value if type(value) is JsonText else json.dumps(value)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with the settings that dialect needs.

    The pool hands out the connection returned last (LIFO): work that runs one transaction after
    another on one thread, as a bulk import does, gets the same connection each time, so what it
    keeps between chunks (``Known``, checked by ``write_stamp`` against that connection) survives a
    pool that once held several; and connections beyond what the load needs sit idle, to be pinged
    or let go, rather than each being kept barely warm in turn.
    """
    kwargs.setdefault("pool_use_lifo", True)
    kwargs.setdefault("json_serializer", _serialise_json)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        _ping_when_idle(engine)
        return engine
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgres://")
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine)
    return engine


# A pooled connection unused for longer than this is checked before it is handed out.
PING_AFTER_IDLE_SECONDS = 10.0


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection with a round trip only when it has sat idle in the pool.

    ``pool_pre_ping`` pings on every checkout: one round trip more for every request, an eighth of
    a single-record ingest's. A connection in steady use was working milliseconds ago. One that
    sat idle may have been cut by a server restart or a firewall, so it is pinged; a dead one is
    replaced (the pool's own retry on ``DisconnectionError``) instead of failing the request.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["shield_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("shield_idle_since")
        if since is None or time.monotonic() - since <= PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"idle connection failed its ping: {type(exc).__name__}") from exc


class Database:
    """The engine plus the two kinds of session the service uses."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        # SQLite has one writer at a time. Queueing this process's writers on a lock is fair and
        # prompt; leaving them to SQLite's busy handler makes them sleep in growing steps, which
        # shows as long tail latency under concurrent posts. Other processes still queue on the
        # busy timeout.
        self._write_lock: AbstractContextManager[object] = (
            threading.Lock() if self.engine.dialect.name == "sqlite" else nullcontext()
        )
        self._writer = _Writer() if self.engine.dialect.name == "sqlite" else None
        self._bind()

    def _bind(self, **options: Any) -> None:
        self._read = sessionmaker(bind=self.engine.execution_options(**options), expire_on_commit=False)
        self._write_engine = self.engine.execution_options(**WRITE, **options)
        self._write = sessionmaker(bind=self._write_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def read_session(self) -> Session:
        return self._read()

    def write_session(self) -> Session:
        return self._write()

    async def off_loop(self, work: Callable[[], T]) -> T:
        """Run ``work`` (blocking database writes) away from the event loop and await its result.

        SQLite: on this database's one writer thread, in the order posted. Writers take turns on
        SQLite anyway; handing the turn from one pool thread to the next woke a thread per write,
        and each woken thread then waited for the interpreter lock that the thread waking it still
        held. PostgreSQL writes in parallel, so there the work goes to the thread pool.
        """
        if self._writer is None:
            return await run_in_threadpool(work)
        return await self._writer.run(work)

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A write transaction: committed on success, rolled back on any exception."""
        with self._write_lock, self.write_session() as session, session.begin():
            yield session

    @contextmanager
    def writing_core(self) -> Iterator[Connection]:
        """``writing`` on a bare connection, for the single-record ingest, which is Core only: the
        ORM session's set-up, begin, commit and close cost a tenth of a post's time."""
        with self._write_lock, self._write_engine.begin() as conn:
            yield conn

    def configured(self, **options: Any) -> Database:
        """This database (same engine, same write lock) with execution options that every session's
        connection carries, read by code far below the request (``conn.get_execution_options()``)."""
        copy = object.__new__(Database)
        copy.url, copy.engine, copy._write_lock, copy._writer = self.url, self.engine, self._write_lock, self._writer
        copy._bind(**options)
        return copy

    def dispose(self) -> None:
        if self._writer is not None:
            self._writer.stop()
        self.engine.dispose()


class _Writer:
    """One thread, started on first use, that runs write work in the order it is posted."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._guard = threading.Lock()

    async def run(self, work: Callable[[], T]) -> T:
        if self._pool is None:
            with self._guard:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shield-sqlite-writer")
        return await asyncio.get_running_loop().run_in_executor(self._pool, work)

    def stop(self) -> None:
        with self._guard:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


def for_reporting(conn: Connection) -> None:
    """Prepare this transaction for a few aggregate queries over many rows.

    PostgreSQL: no JIT compilation. Its cost model switches JIT on for report-sized queries, and
    compiling them took longer (over half a second) than running them. And room to group in
    memory: the quality report groups an incident's rows over a year (64,000 incidents at 100,000
    PPNs), which the default 4 MB spilled to disk in batches. SQLite has neither setting.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL jit = off"))
        conn.execute(text("SET LOCAL work_mem = '64MB'"))


def plan_for_these_values(conn: Connection) -> None:
    """Plan each statement of this transaction for the values bound to it.

    PostgreSQL: psycopg prepares a statement once it has run five times, and the server then
    switches to a generic plan that ignores the bound values. For a query bounded by a window of
    one day and a few hundred ids that plan assumes average selectivity and scans: the briefing's
    history query went from tens of milliseconds to two seconds from the sixth pull on. SQLite
    plans every statement afresh.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


class _Compiled:
    """A statement compiled once for a dialect (for an INSERT of rows, once per set of columns): its
    SQL, its parameters in the order the driver takes them (None: by name), each parameter's bind
    processor, the values of the parameters the statement carries itself (literals, a LIMIT), and
    each result column's processor."""

    def __init__(self, statement: Any, dialect: Any, keys: tuple[str, ...] | None = None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=None if keys is None else list(keys))
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("a statement with parameters expanded as it runs cannot be compiled once")
        self.sql = compiled.string
        self.order = list(compiled.positiontup) if compiled.positional else None  # type: ignore[arg-type]
        self.own = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}
        self.processors = {
            name: processor
            for name, bind in compiled.binds.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        # Each positional parameter with its processor, looked up once: a bulk import runs this for
        # every value of every row.
        self.plan = [(name, self.processors.get(name)) for name in self.order] if self.order is not None else None
        columns = getattr(statement, "selected_columns", None) if not getattr(statement, "is_dml", False) else None
        results = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns or ()]
        self.results = results if any(results) else None

    def parameters(self, params: dict[str, Any]) -> Any:
        values = {**self.own, **params} if self.own else params
        if self.plan is None:
            processors = self.processors
            return {k: processors[k](v) if k in processors else v for k, v in values.items()}
        return [values[k] if p is None else p(values[k]) for k, p in self.plan]

    def rows(self, rows: list[Any]) -> list[tuple[Any, ...]]:
        if self.results is None:
            return rows
        processors = self.results
        return [tuple(p(v) if p else v for p, v in zip(processors, row, strict=True)) for row in rows]


_COMPILED: dict[tuple[Any, str, tuple[str, ...] | None], _Compiled] = {}


def _compiled(conn: Connection, statement: Any, keys: tuple[str, ...] | None = None) -> _Compiled:
    key = (statement, conn.dialect.name, keys)
    compiled = _COMPILED.get(key)
    if compiled is None:
        if keys is not None:
            table = statement.table
            missing = [c.key for c in table.columns if c.default is not None and c.key not in keys]
            if missing:
                # SQLAlchemy would fill these in from Python; the driver will not.
                raise ValueError(f"{table.name}: these columns need values: {missing}")
        compiled = _COMPILED[key] = _Compiled(statement, conn.dialect, keys)
    return compiled


def _on_cursor(conn: Connection, sql: str, parameters: Any, many: bool = False) -> tuple[int, list[Any]]:
    """Run ``sql`` on the connection's DBAPI cursor: its rowcount and rows. Listeners (statement
    counts, tracing) see it as they see SQLAlchemy's own; a database error is raised as SQLAlchemy's,
    so callers catch ``IntegrityError`` as they would."""
    dbapi = conn.dialect.loaded_dbapi
    cursor = conn.connection.cursor()
    dispatch = conn.dispatch
    if dispatch.before_cursor_execute:
        dispatch.before_cursor_execute(conn, cursor, sql, parameters, None, many)
    try:
        if many:
            cursor.executemany(sql, parameters)
            rows = []
        else:
            cursor.execute(sql, parameters)
            rows = cursor.fetchall() if cursor.description else []
        if dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(conn, cursor, sql, parameters, None, many)
        return cursor.rowcount, rows
    except dbapi.Error as exc:
        raise DBAPIError.instance(sql, None, exc, dbapi.Error, dialect=conn.dialect) from exc
    finally:
        cursor.close()


def insert_rows(conn: Connection, statement: Table | Insert, rows: dict[str, Any] | list[dict[str, Any]]) -> Any:
    """Run an INSERT (``statement``, or a plain insert into a table) for these rows, all with the
    same keys, on the connection's DBAPI cursor; return that cursor's rowcount and first row
    (``RETURNING``), as ``(rowcount, row)``.

    For the ingest path, whose dozen small inserts per record each cost SQLAlchemy more in building
    parameters and results than they cost the database: the statement is compiled once per dialect
    and set of columns (with SQLAlchemy's own bind processors, so values are stored exactly as a
    ``Connection.execute`` stores them). A column SQLAlchemy would fill in from Python is refused.
    """
    many = isinstance(rows, list)
    if many and not rows:
        return 0, None
    first = rows[0] if many else rows
    if isinstance(statement, Table):
        statement = _plain_insert(statement)
    prepared = _compiled(conn, statement, tuple(first))
    many = many and len(rows) > 1
    if many and any(r.keys() != first.keys() for r in rows):
        raise ValueError(f"{statement.table.name}: rows with different columns in one insert")  # type: ignore[attr-defined]
    parameters = [prepared.parameters(r) for r in rows] if many else prepared.parameters(first)
    rowcount, returned = _on_cursor(conn, prepared.sql, parameters, many)
    return rowcount, returned[0] if returned else None


def run_compiled(conn: Connection, statement: Any, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """Run ``statement`` (built once, at import) on the connection's DBAPI cursor and return its rows
    as tuples, with the values SQLAlchemy's own execution would give.

    For the statements every single-record ingest runs: on SQLite, SQLAlchemy's work around each
    (cache look-up, parameter and result set-up) cost more than SQLite's. As ``insert_rows``:
    compiled once per dialect, with SQLAlchemy's own bind and result processors. A statement whose
    parameters expand as it runs (``in_`` of a list) is refused: use ``AmongIds``/``AmongTexts``
    with ``list_param``.
    """
    compiled = _compiled(conn, statement)
    return compiled.rows(_on_cursor(conn, compiled.sql, compiled.parameters(params or {}))[1])


def insert_per_id(conn: Connection, table: Table, fixed: dict[str, Any], column: str, ids: list[uuid.UUID]) -> None:
    """Insert one row per id into ``table``, each with the same ``fixed`` values, in one statement.

    Hundreds of rows (a briefing's children in the audit's child index) sent as an executemany
    cost a bound row each; here the ids travel as one array (PostgreSQL ``unnest``) or one JSON
    list (SQLite ``json_each``, ids as the 32 hex digits SQLAlchemy stores there).
    """
    if not ids:
        return
    if len(ids) == 1:
        # One child (a record read): a plain insert, which costs less to build than the array form.
        insert_rows(conn, table, {**fixed, column: ids[0]})
        return
    dialect = conn.dialect.name
    ids_value: Any = ids if dialect == "postgresql" else json.dumps([i.hex for i in ids])
    conn.execute(_per_id_statement(table, tuple(fixed), column, dialect), {**fixed, "ids": ids_value})


_PER_ID: dict[tuple[Table, tuple[str, ...], str, str], Any] = {}


def _per_id_statement(table: Table, fixed: tuple[str, ...], column: str, dialect: str) -> Any:
    # Built once per shape: building and cache-keying the statement per call (the audit append of
    # every ingest) cost more than running it.
    key = (table, fixed, column, dialect)
    if key not in _PER_ID:
        constants = [bindparam(name, type_=table.c[name].type) for name in fixed]
        if dialect == "postgresql":
            each = func.unnest(bindparam("ids", type_=postgresql.ARRAY(Uuid())))
        else:
            each = func.json_each(bindparam("ids")).table_valued("value").c.value
        _PER_ID[key] = insert(table).from_select([*fixed, column], select(*constants, each))
    return _PER_ID[key]


def insert_with_per_id(
    conn: Connection,
    parent: Table,
    row: dict[str, Any],
    table: Table,
    fixed: dict[str, Any],
    column: str,
    ids: list[uuid.UUID],
) -> None:
    """Insert ``row`` into ``parent``, then as ``insert_per_id`` into ``table`` (whose ``fixed`` values
    name that row): on PostgreSQL in one statement, the parent's insert in a WITH, so one round trip.

    The audit append runs this under the chain lock, which is held until commit: there every round
    trip holds up every other writer. SQLite: two statements (its writers take turns anyway).
    """
    dialect = conn.dialect.name
    if dialect != "postgresql" or not ids:
        insert_rows(conn, parent, row)
        insert_per_id(conn, table, fixed, column, ids)
        return
    key = (parent, tuple(row), table, tuple(fixed), column)
    if key not in _WITH_PER_ID:
        values = {name: bindparam(name, type_=parent.c[name].type) for name in row}
        _WITH_PER_ID[key] = _per_id_statement(table, tuple(fixed), column, dialect).add_cte(
            insert(parent).values(values).cte("parent")
        )
    run_compiled(conn, _WITH_PER_ID[key], {**row, **fixed, "ids": ids})


_WITH_PER_ID: dict[tuple[Any, ...], Any] = {}
_PLAIN_INSERT: dict[Table, Any] = {}


def _plain_insert(table: Table) -> Any:
    if table not in _PLAIN_INSERT:
        _PLAIN_INSERT[table] = insert(table)
    return _PLAIN_INSERT[table]


def insert_if_absent(
    conn: Connection,
    table: Table,
    key: tuple[str, ...],
    row: dict[str, Any],
    then: Sequence[tuple[Table, dict[str, Any]]] = (),
) -> bool:
    """Insert ``row`` unless a row with the same values of ``key`` (a unique constraint) exists, and
    say whether it was inserted: one statement where a look-up and an insert were two. If it was,
    insert the rows ``then`` holds too (rows of other tables that belong to it).

    A concurrent transaction inserting the same key makes this wait for it and then insert nothing
    (PostgreSQL); on SQLite writers already take turns. PostgreSQL: the row and those of ``then``
    in one statement (each of ``then`` inserted from the row's RETURNING, so only if it went in).
    """
    dialect = conn.dialect.name
    if dialect == "postgresql" and then:
        shape = (table, key, tuple(row), tuple((t, tuple(r)) for t, r in then))
        if shape not in _IF_ABSENT_THEN:
            _IF_ABSENT_THEN[shape] = _if_absent_then(table, key, list(row), [(t, list(r)) for t, r in then])
        params = {**row, **{f"then{n}_{c}": v for n, (_, r) in enumerate(then) for c, v in r.items()}}
        return run_compiled(conn, _IF_ABSENT_THEN[shape], params)[0][0] == 1
    statement = _IF_ABSENT.get((table, key, dialect))
    if statement is None:
        construct = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = construct(table).on_conflict_do_nothing(index_elements=[table.c[k] for k in key])
        _IF_ABSENT[(table, key, dialect)] = statement
    if insert_rows(conn, statement, row)[0] != 1:
        return False
    for other, other_row in then:
        insert_rows(conn, other, other_row)
    return True


def _if_absent_then(table: Table, key: tuple[str, ...], columns: list[str], then: list[tuple[Table, list[str]]]) -> Any:
    values = {c: bindparam(c, type_=table.c[c].type) for c in columns}
    returned = next(iter(table.primary_key.columns))
    parent = (
        postgresql.insert(table)
        .values(values)
        .on_conflict_do_nothing(index_elements=[table.c[k] for k in key])
        .returning(returned)
        .cte("parent")
    )
    ctes: list[Any] = [parent]
    for n, (other, other_columns) in enumerate(then):
        each = [bindparam(f"then{n}_{c}", type_=other.c[c].type) for c in other_columns]
        rows = select(*each).select_from(parent)
        ctes.append(insert(other).from_select(other_columns, rows).returning(literal_column("1")).cte(f"then_{n}"))
    return select(func.count()).select_from(parent).add_cte(*ctes)


_IF_ABSENT: dict[tuple[Table, tuple[str, ...], str], Any] = {}
_IF_ABSENT_THEN: dict[tuple[Any, ...], Any] = {}


class Replacement:
    """Per table, make the rows ``where`` picks what ``rows`` (a SELECT of ``columns``) gives: rows it
    no longer gives are deleted, new ones inserted, changed ones updated, and rows that are already
    right are not written at all. ``parts`` is ``[(table, where, columns, rows), ...]``, all bound by
    the same parameters; each table's primary key must be among ``columns``. Built once, run with
    ``run(conn, params)``.

    Deleting every picked row and inserting them all again wrote as many rows (and index pages) as
    the child had, on every post: a child with many records made each post slower, and on SQLite
    the commit grew with it. Now a post that adds one record writes the row it adds and the few its
    arrival changes.

    PostgreSQL: one statement, the deletes and upserts as WITH clauses (they touch different rows:
    the deleted ones are those ``rows`` does not give). SQLite: each table's delete, then upsert.
    """

    def __init__(self, parts: list[tuple[Table, Any, list[str], Any]], deleting: bool = True) -> None:
        """``deleting=False``: only insert and update, for ``rows`` that give some of the picked rows
        when a change can only have added rows or changed the ones given."""
        self.steps: dict[str, list[Any]] = {"postgresql": [], "sqlite": []}
        for table, where, columns, rows in parts:
            key = [c.name for c in table.primary_key.columns]
            # The keys ``rows`` gives, without its computed columns (a window over the child's rows).
            given = rows.with_only_columns(*(rows.selected_columns[columns.index(k)] for k in key))
            stale = [delete(table).where(where, tuple_(*(table.c[k] for k in key)).not_in(given))] if deleting else []
            for dialect, construct in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert)):
                upsert = construct(table).from_select(columns, rows)
                changing = [c for c in columns if c not in key]
                upsert = upsert.on_conflict_do_update(
                    index_elements=key,
                    set_={c: upsert.excluded[c] for c in changing},
                    where=or_(*(table.c[c].is_distinct_from(upsert.excluded[c]) for c in changing)),
                )
                self.steps[dialect] += [*stale, upsert]
        *first, last = self.steps["postgresql"]
        ctes = [s.returning(next(iter(s.table.primary_key.columns))).cte(f"step_{n}") for n, s in enumerate(first)]
        self.single = last.add_cte(*ctes)

    def run(self, conn: Connection, params: dict[str, Any]) -> None:
        if conn.dialect.name == "postgresql":
            run_compiled(conn, self.single, params)
            return
        for step in self.steps["sqlite"]:
            run_compiled(conn, step, params)


# The two-key advisory lock space of ``hold_keys`` (its first key), apart from the chain's one-key lock.
_HELD_KEYS_SPACE = 0x5348  # "SH"
_HOLD_KEYS = text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), k) FROM unnest(CAST(:keys AS integer[])) AS k")


def hold_keys(conn: Connection, keys: Iterable[str]) -> None:
    """PostgreSQL: take, until this transaction ends, a lock on each of ``keys`` (hashed), all in
    one statement and in one order, so that two transactions never take two in opposite orders.
    SQLite: nothing (its writers take turns already)."""
    if conn.dialect.name != "postgresql":
        return
    hashed = sorted({zlib.crc32(k.encode()) - 2**31 for k in keys})  # into int4; unnest keeps this order
    if hashed:
        conn.execute(_HOLD_KEYS, {"space": _HELD_KEYS_SPACE, "keys": hashed})


def serialise_appenders(conn: Any, key: int) -> None:
    """Make concurrent transactions that append to one chain take turns until they commit.

    PostgreSQL: a transaction-scoped advisory lock, released by commit or rollback. SQLite: write
    transactions already hold the database's single write lock (BEGIN IMMEDIATE), so nothing to do.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def take_turn_then_read(conn: Connection, key: int, query: Any, function: str) -> Any:
    """``serialise_appenders(conn, key)``, then the first row of ``query``, which must see what the
    previous turn-holder committed.

    PostgreSQL: one round trip, through ``function(key)``, a PL/pgSQL function a migration made
    that takes the lock and then runs the same query (with a snapshot taken after the lock). The
    turn is held until commit, so a round trip saved under it is saved for every waiting writer.
    """
    if conn.dialect.name == "postgresql":
        if function not in _TURN_THEN_READ:
            _TURN_THEN_READ[function] = select(text("*")).select_from(getattr(func, function)(bindparam("key")))
        rows = run_compiled(conn, _TURN_THEN_READ[function], {"key": key})
        return rows[0] if rows else None
    serialise_appenders(conn, key)
    rows = run_compiled(conn, query)
    return rows[0] if rows else None


_TURN_THEN_READ: dict[str, Any] = {}


# How often, during a bulk import on SQLite, the checkpointer thread copies committed WAL pages.
CHECKPOINT_EVERY_SECONDS = 0.1
# SQLite writes a WAL from its start again only if, when a write transaction begins, every page in
# it has been copied into the database. The import's next chunk begins while the checkpointer is
# still copying the last one, so without a pause the WAL only grew: 15 GB after 5 minutes of a 1M
# import (a 1.8 GB database), and every page read searched an index of all of it. Once the WAL
# holds more than this, the import waits between two chunks for the checkpoint to catch up: the
# last chunk's copy, not more, since the thread copies each chunk as it commits.
WAL_LIMIT_BYTES = 256 * 1024 * 1024
# The longest that wait lasts (readers of old snapshots can hold a checkpoint back); the import then
# goes on, and waits again before its next chunk.
SETTLE_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class BulkLoad:
    """What ``bulk_loading`` gives an import. ``prepare(conn)``: call at the start of each of its
    large write transactions. ``settle()``: call between two of them, before the next begins."""

    prepare: Callable[[Connection], None]
    settle: Callable[[], None]


@contextmanager
def bulk_loading(db: Database) -> Iterator[BulkLoad]:
    """Set up a bulk import.

    SQLite: ``prepare`` gives the connection a page cache of 128 MB instead of 2 MB, so the indexes
    a chunk writes into stay in memory as the database grows, and turns off its automatic WAL
    checkpoint: a thread of its own (``_Checkpointer``) copies committed pages into the database
    instead, on the other core, while the import goes on. In the commit, that copy was 5% of an
    import's time. ``settle`` keeps the WAL to about ``WAL_LIMIT_BYTES``, and the import's own
    transactions leave the WAL file at its size rather than cutting it to ``WAL_KEEP_BYTES``. The
    connection's own settings (both) come back when it returns to the pool, so only the import's
    transactions go without.
    Durability is unchanged: WAL with synchronous=NORMAL.
    PostgreSQL: nothing; its shared buffers and checkpoints are the server's.
    """
    if db.dialect != "sqlite":
        yield BulkLoad(prepare=lambda conn: None, settle=lambda: None)
        return
    checkpointer = _Checkpointer(db.engine)

    def prepare(conn: Connection) -> None:
        conn.exec_driver_sql("PRAGMA cache_size=-131072")
        if checkpointer.running:
            info = conn.connection.info
            info.setdefault(_OWN_AUTOCHECKPOINT, conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())
            conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
            # The WAL grows to ``WAL_LIMIT_BYTES`` and more between settles: cut back to
            # ``WAL_KEEP_BYTES`` at each restart, the file only grew again (3% of the import here).
            conn.exec_driver_sql("PRAGMA journal_size_limit=-1")

    def restore(dbapi_conn: Any, record: Any) -> None:
        pages = record.info.pop(_OWN_AUTOCHECKPOINT, None)
        if pages is not None:
            dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={int(pages)}").close()
            dbapi_conn.execute(f"PRAGMA journal_size_limit={WAL_KEEP_BYTES}").close()
            # The import's transaction has committed: checkpoint now. Left to the next poll, a post
            # from the API committing in the gap between chunks ran the checkpoint in its own
            # commit (about 1 s here); with the checkpointer at work, its commit skips it.
            checkpointer.nudge()

    event.listen(db.engine, "checkin", restore)
    checkpointer.start()
    try:
        yield BulkLoad(prepare=prepare, settle=checkpointer.settle)
    finally:
        checkpointer.stop()
        event.remove(db.engine, "checkin", restore)


_OWN_AUTOCHECKPOINT = "shield_wal_autocheckpoint"


class _Checkpointer:
    """A thread that checkpoints a SQLite database's WAL (PASSIVE: it never waits for, nor holds up,
    the writer) on a connection of its own. Should a checkpoint fail, the thread stops and says so,
    and ``running`` turns false, so that later transactions checkpoint in their commits again."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._stopping = threading.Event()
        self._nudged = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shield-checkpointer", daemon=True)
        self.running = False
        self.wal_bytes = 0  # as the last checkpoint found it
        # ``settle`` asks for a checkpoint of the whole WAL (request n); the thread says which
        # request its last whole checkpoint answered. Only a checkpoint begun after the request
        # counts: one begun before it knew nothing of the chunk committed since.
        self._turns = threading.Condition()
        self._asked = self._answered = 0

    def start(self) -> None:
        self.running = True
        self._thread.start()

    def nudge(self) -> None:
        """Checkpoint now rather than at the next poll."""
        self._nudged.set()

    def settle(self) -> None:
        """If the WAL has grown past ``WAL_LIMIT_BYTES``, wait until all of it is in the database
        (call with no write transaction open), so that the next one writes the WAL from its start."""
        if not self.running or self.wal_bytes <= WAL_LIMIT_BYTES:
            return
        with self._turns:
            self._asked += 1
            asked = self._asked
        self._nudged.set()
        with self._turns:
            caught_up = self._turns.wait_for(
                lambda: self._answered >= asked or not self.running, timeout=SETTLE_TIMEOUT_SECONDS
            )
        if not caught_up:
            log.info("WAL checkpoint still behind after %.0f s; the import goes on", SETTLE_TIMEOUT_SECONDS)

    def stop(self) -> None:
        self._stopping.set()
        self._nudged.set()
        self._thread.join()

    def _run(self) -> None:
        # A connection outside the pool: a pooled one, even detached, leaves its slot in the pool,
        # and the import's chunks would then take turns on two connections, each time with a cold
        # page cache and a ``write_stamp`` that no longer matches.
        dialect, conn = self._engine.dialect, None
        try:
            cargs, cparams = dialect.create_connect_args(self._engine.url)
            conn = dialect.connect(*cargs, **cparams)
            page = conn.execute("PRAGMA page_size").fetchone()[0]
            while not self._stopping.is_set():
                if self._answered >= self._asked:
                    self._nudged.wait(CHECKPOINT_EVERY_SECONDS)
                else:
                    time.sleep(0.01)  # a reader still holds back a settle's checkpoint: try again soon
                self._nudged.clear()
                if self._stopping.is_set():
                    break
                asked = self._asked
                busy, frames, copied = self._checkpoint(conn)
                if busy:  # another connection was checkpointing: nothing learnt
                    continue
                self.wal_bytes = max(frames, 0) * page
                if copied == frames:
                    with self._turns:
                        self._answered = max(self._answered, asked)
                        self._turns.notify_all()
        except Exception as exc:  # noqa: BLE001 - any failure: the commits take checkpointing back
            log.warning("WAL checkpoint thread stopped (%s); commits checkpoint again", type(exc).__name__)
        finally:
            self.running = False
            with self._turns:
                self._turns.notify_all()
            if conn is not None:
                conn.close()

    @staticmethod
    def _checkpoint(conn: Any) -> tuple[int, int, int]:
        """Whether another checkpoint was running; pages in the WAL; how many of them are now in the
        database (SQLite's own answer)."""
        cursor = conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        try:
            busy, frames, copied = cursor.fetchone()
        finally:
            cursor.close()
        return busy, frames, copied


class WriteStamp(NamedTuple):
    """Where a write transaction starts (``now``), and what the same connection's next transaction
    will find (``after``) if no other connection commits a change in between."""

    now: Any
    after: Any


def write_stamp(conn: Connection) -> WriteStamp | None:
    """``WriteStamp`` of the write transaction on ``conn``, called first in it, or ``None`` where the
    database cannot tell.

    SQLite: the DBAPI connection and its ``PRAGMA data_version``, which changes when another
    connection commits (this one's own commits leave it alone).
    PostgreSQL: this transaction's id, taken now. Every transaction that writes takes one, in any
    database of the cluster, so the next transaction taking the next id means nobody else took one
    in between; and nobody else may hold one now, or it could commit later without taking another
    (``pg_locks``: a transaction holds a lock on its id until it ends). The snapshot's ``xmax`` is
    no substitute: it is one past the last id to finish, not the next to be given out.
    """
    if conn.dialect.name == "postgresql":
        own, alone = conn.execute(_PG_OWN_ID_ALONE).one()
        return WriteStamp(int(own), int(own) + 1) if alone else None
    if conn.dialect.name != "sqlite":
        return None
    stamp = (conn.connection.dbapi_connection, conn.exec_driver_sql("PRAGMA data_version").scalar_one())
    return WriteStamp(stamp, stamp)


_PG_OWN_ID_ALONE = text(
    "SELECT pg_current_xact_id()::text, NOT EXISTS (SELECT FROM pg_locks WHERE locktype = 'transactionid'"
    " AND pid IS DISTINCT FROM pg_backend_pid())"
)


def next_ids(conn: Connection, table: Table, column: str, count: int) -> list[int]:
    """The ids the next ``count`` rows of ``table`` would get, taken now so that rows written in one
    statement can be referred to by others (a bulk import's person index and its keys).

    PostgreSQL: drawn from the column's sequence, so concurrent writers never get them. SQLite:
    the rowids after the largest, which nobody else can take while this write transaction holds
    the database's write lock.
    """
    if count <= 0:
        return []
    if conn.dialect.name == "postgresql":
        sequence = func.pg_get_serial_sequence(table.name, column)
        drawn = select(func.nextval(sequence)).select_from(func.generate_series(1, count))
        return list(conn.execute(drawn).scalars())
    largest = conn.execute(select(func.coalesce(func.max(table.c[column]), 0))).scalar_one()
    return list(range(largest + 1, largest + 1 + count))


def restart_identity_after(conn: Connection, table: Any, column: str) -> None:
    """After rows were written with explicit integer ids (bulk copies): make the next generated id
    follow the largest one. PostgreSQL's sequence does not see explicit ids; SQLite's rowid does."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy import func, select

        largest = select(func.max(table.c[column])).scalar_subquery()
        conn.execute(select(func.setval(func.pg_get_serial_sequence(table.name, column), largest)))


def refresh_statistics(conn: Connection) -> None:
    """After a bulk load: PostgreSQL plans from table statistics, and a table grown faster than
    autovacuum analyses it gets nested loops over what it thinks are empty tables."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("ANALYZE"))
