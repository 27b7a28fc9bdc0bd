"""Migrations are the only way the schema changes: they must go up, down and up again, with data."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from app.db import Base
from app.migrate import alembic_config, downgrade, upgrade


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_there_is_one_head():
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


def test_up_down_up_with_data(fresh_url):
    upgrade(fresh_url)
    assert tables(fresh_url) == set(Base.metadata.tables)
    engine = create_engine(fresh_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO child (id, created_at) VALUES ('0b4a3c1e-1111-4111-8111-111111111111', "
                "'2026-01-01 00:00:00')"
            )
        )
    engine.dispose()
    downgrade(fresh_url, "base")
    assert tables(fresh_url) == set()
    upgrade(fresh_url)
    assert tables(fresh_url) == set(Base.metadata.tables)


def test_every_revision_downgrades_one_step(fresh_url):
    """The stairway: each revision upgrades, steps back one, and upgrades again."""
    script = ScriptDirectory.from_config(alembic_config())
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    for revision in revisions:
        upgrade(fresh_url, revision)
        downgrade(fresh_url, "-1")
        upgrade(fresh_url, revision)


def test_models_match_the_migrations(fresh_url):
    """`alembic check`: nothing in the models is missing from the migrations."""
    upgrade(fresh_url)
    command.check(alembic_config(fresh_url))
