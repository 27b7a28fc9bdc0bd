"""Test fixtures. Every test that touches the database runs once on SQLite and once on PostgreSQL.

``--db sqlite|postgresql|both`` (default both) picks the backends. PostgreSQL is found at
``SHIELD_TEST_POSTGRES_URL`` (default the local trust-auth server, database ``test``); a fresh
database is created for the run and dropped after. Where no PostgreSQL answers, its half is
skipped with a message saying so, and the SQLite half still runs.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db import Base, Database
from app.main import create_app
from app.migrate import upgrade
from app.security.tokens import mint

ROOT = Path(__file__).resolve().parent.parent
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SECRET = "test-secret-" + "x" * 40


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        default=os.environ.get("SHIELD_TEST_DB", "both"),
        choices=["sqlite", "postgresql", "both"],
        help="database backends to run the suite on",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        choice = metafunc.config.getoption("--db")
        backends = ["sqlite", "postgresql"] if choice == "both" else [choice]
        metafunc.parametrize("backend", backends, scope="session")


def _postgres_admin_url() -> str:
    return os.environ.get("SHIELD_TEST_POSTGRES_URL", PG_DEFAULT)


def _create_pg_database() -> str:
    admin_url = _postgres_admin_url()
    name = f"shield_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure here means "no PostgreSQL to test on"
        pytest.skip(
            f"PostgreSQL not reachable at {make_url(admin_url).render_as_string(hide_password=True)} "
            f"({type(exc).__name__}): PostgreSQL half skipped"
        )
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(_postgres_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database for the whole session on ``backend``."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'shield.db'}"
        upgrade(url)
        yield url
        return
    url = _create_pg_database()
    try:
        upgrade(url)
        yield url
    finally:
        _drop_pg_database(url)


@pytest.fixture
def fresh_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty, unmigrated database of its own, for migration tests that must not disturb the session's."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    url = _create_pg_database()
    try:
        yield url
    finally:
        _drop_pg_database(url)


@pytest.fixture(scope="session")
def _session_db(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def db(_session_db: Database) -> Iterator[Database]:
    """The session's database, emptied before each test so tests never see each other's rows."""
    empty_all_tables(_session_db)
    yield _session_db


def empty_all_tables(db: Database) -> None:
    """Delete every row, getting past the audit's append-only triggers the way only a DBA could."""
    with db.writing() as session:
        conn = session.connection()
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")  # triggers off
            triggers = []
        else:
            triggers = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").all()
            for name, _ in triggers:
                conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
        for _, sql in triggers:
            conn.exec_driver_sql(sql)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return replace(Settings(), database_url=database_url, jwt_secret=SECRET, policy_dir=ROOT / "policies")


@pytest.fixture
def app(settings: Settings, db: Database) -> FastAPI:
    return create_app(settings, db=db)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


TokenFactory = Callable[..., dict[str, str]]


@pytest.fixture
def auth(settings: Settings) -> TokenFactory:
    """``auth(agency, role, org=None)`` -> headers with a valid bearer token."""

    def make(
        agency: str = "police", role: str = "agency_system", org: str | None = None, sub: str | None = None
    ) -> dict[str, str]:
        token = mint(settings, sub=sub or f"{agency}-{role}", agency=agency, roles=[role], org=org)
        return {"Authorization": f"Bearer {token}"}

    return make
