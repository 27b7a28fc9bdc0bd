"""Break-glass grants and privacy alerts are append-only, as the audit is.

A grant keeps the reason a person gave for reading beyond their scope, and an alert what the
privacy officer is told; the review reads both from these tables. Until now either could be
rewritten ("routine check, reviewed") or removed with the audit's hash chain still whole. Their
rows are written once and never changed by the application.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 23:30:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("break_glass_grant", "privacy_alert")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:  # the audit's own refusal (migration 0002's function)
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION shield_audit_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION shield_audit_append_only()"
            )
    else:
        for table in TABLES:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'the audit is append-only: {event} on {table} refused'); END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
    else:
        for table in TABLES:
            for event in ("update", "delete"):
                op.execute(f"DROP TRIGGER {table}_no_{event}")
