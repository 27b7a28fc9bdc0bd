"""Alembic environment: one migration tree for SQLite and PostgreSQL.

Batch mode is on (it only changes anything on SQLite, which cannot ALTER most things in place),
and SQLite's foreign keys are switched off around a migration because batch mode copies tables.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, text

import app.models  # noqa: F401 - registers every table on Base.metadata
from app.config import get_settings
from app.db import Base, make_engine

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    return config.attributes.get("url") or get_settings().database_url


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
        transaction_per_migration=True,
        # The engine hands transactions to SQLAlchemy on SQLite too, so a failed migration rolls back.
        transactional_ddl=True,
    )


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=Base.metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        context.run_migrations()
        return
    engine = make_engine(_url())
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.execute(text("PRAGMA foreign_keys=OFF"))
            connection.commit()
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            connection.execute(text("PRAGMA foreign_keys=ON"))
            connection.commit()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
