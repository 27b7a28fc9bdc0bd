"""Run and inspect the Alembic migrations from code (``shield migrate``, ``shield serve``, tests)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection


def _project_root() -> Path:
    # Source checkouts and editable installs find alembic.ini beside app/; an installed wheel
    # (the Docker image) runs from the project directory instead.
    for candidate in (Path(__file__).resolve().parent.parent, Path.cwd()):
        if (candidate / "alembic.ini").is_file():
            return candidate
    raise FileNotFoundError("alembic.ini not found beside the app package or in the working directory")


ROOT = _project_root()


def alembic_config(url: str | None = None, alembic_logging: bool = True) -> Config:
    """``alembic_logging``: let migrations/env.py set the process's logging up from alembic.ini
    (plain lines on stderr, the root logger at WARNING), as the command-line tools want. A server
    that has set up its own (``shield serve``: JSON lines) passes False, or it would lose them."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["configure_logger"] = alembic_logging
    if url:
        cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, revision: str = "head", alembic_logging: bool = True) -> None:
    command.upgrade(alembic_config(url, alembic_logging), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(conn: Connection) -> str | None:
    # Alembic logs two INFO lines each time it looks ("Context impl ..."): /readyz looks on every
    # probe, every few seconds, and a migration is not running then.
    context_log = logging.getLogger("alembic.runtime.migration")
    was_disabled, context_log.disabled = context_log.disabled, True
    try:
        return MigrationContext.configure(conn).get_current_revision()
    finally:
        context_log.disabled = was_disabled
