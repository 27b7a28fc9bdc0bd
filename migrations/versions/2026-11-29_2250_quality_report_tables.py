"""The quality report's own tables: incident_child and quality_subject, filled in from existing records.

incident_child: each arrested child or victim of an incident, and when their first linked PPN
came; the "incident without a PPN in time" rule counts these rows over a period instead of probing
every child's PPNs for every incident. quality_subject: each PPN and incident subject with its
stated ethnicity and the time of the same child's next record of that type; disproportionality
counts each child's latest record in a period from it instead of ranking every child's records.
See app.quality.models. app.quality.kept keeps both in step at ingest, on merges and on recheck;
here they are filled in from record_subject, incident and ppn with the statements it uses
(app.quality.kept.incident_children and quality_subjects), written out for each database.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 22:50:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Seconds from the incident to a PPN subject's event time, as app.db.SecondsBetween spells it.
SECONDS = {
    "postgresql": "EXTRACT(EPOCH FROM (ps.event_at - i.occurred_at))",
    "sqlite": "ROUND((julianday(ps.event_at) - julianday(i.occurred_at)) * 86400.0, 3)",
}
INCIDENT_CHILD = """
INSERT INTO incident_child
    (record_id, position, child_id, occurred_at, arrested, victim, injury_severity, first_ppn_seconds)
SELECT rs.record_id, rs.position, rs.child_id, i.occurred_at, rs.arrested IS TRUE, rs.role = 'victim',
       i.injury_severity,
       (SELECT min({seconds})
          FROM record_subject ps JOIN ppn p ON p.record_id = ps.record_id
         WHERE ps.child_id = rs.child_id AND ps.record_type = 'ppn' AND ps.event_at >= i.occurred_at
           AND (p.occurrence_ref = i.crime_ref OR p.occurrence_ref IS NULL OR i.crime_ref IS NULL))
  FROM record_subject rs JOIN incident i ON i.record_id = rs.record_id
 WHERE rs.record_type = 'incident' AND (rs.arrested IS TRUE OR rs.role = 'victim')
"""
STATED = "(rs.self_defined_code IS NOT NULL AND rs.self_defined_code != 'NS')"
ORDER = "ORDER BY rs.event_at, rs.record_id, rs.position"
QUALITY_SUBJECT = f"""
INSERT INTO quality_subject
    (record_id, position, child_id, record_type, event_at, stated_code, next_at, next_stated_at)
SELECT rs.record_id, rs.position, rs.child_id, rs.record_type, rs.event_at,
       CASE WHEN {STATED} THEN rs.self_defined_code END,
       lead(rs.event_at) OVER (PARTITION BY rs.child_id, rs.record_type {ORDER}),
       CASE WHEN {STATED} THEN lead(rs.event_at) OVER (
           PARTITION BY rs.child_id, rs.record_type, CASE WHEN {STATED} THEN 1 ELSE 0 END {ORDER}) END
  FROM record_subject rs
 WHERE rs.record_type IN ('incident', 'ppn') AND rs.event_at IS NOT NULL
"""


def upgrade() -> None:
    op.create_table(
        "incident_child",
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("arrested", sa.Boolean(), nullable=False),
        sa.Column("victim", sa.Boolean(), nullable=False),
        sa.Column("injury_severity", sa.String(length=30), nullable=True),
        sa.Column("first_ppn_seconds", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["child_id"], ["child.id"], name=op.f("fk_incident_child_child_id_child")),
        sa.ForeignKeyConstraint(
            ["record_id"], ["record.id"], name=op.f("fk_incident_child_record_id_record"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("record_id", "position", name=op.f("pk_incident_child")),
    )
    with op.batch_alter_table("incident_child", schema=None) as batch_op:
        batch_op.create_index("ix_incident_child_child", ["child_id"], unique=False)
        batch_op.create_index(
            "ix_incident_child_report",
            ["occurred_at", "record_id", "arrested", "victim", "injury_severity", "first_ppn_seconds"],
            unique=False,
        )

    op.create_table(
        "quality_subject",
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("record_type", sa.String(length=30), nullable=False),
        sa.Column("event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stated_code", sa.String(length=2), nullable=True),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_stated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["child_id"], ["child.id"], name=op.f("fk_quality_subject_child_id_child")),
        sa.ForeignKeyConstraint(
            ["record_id"], ["record.id"], name=op.f("fk_quality_subject_record_id_record"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("record_id", "position", name=op.f("pk_quality_subject")),
    )
    with op.batch_alter_table("quality_subject", schema=None) as batch_op:
        batch_op.create_index("ix_quality_subject_child", ["child_id"], unique=False)
        batch_op.create_index("ix_quality_subject_children", ["record_type", "event_at", "next_at"], unique=False)
        batch_op.create_index(
            "ix_quality_subject_stated", ["record_type", "stated_code", "event_at", "next_stated_at"], unique=False
        )

    bind = op.get_bind()
    op.execute(INCIDENT_CHILD.format(seconds=SECONDS[bind.dialect.name]))
    op.execute(QUALITY_SUBJECT)
    if bind.dialect.name == "postgresql":
        op.execute("ANALYZE incident_child")
        op.execute("ANALYZE quality_subject")


def downgrade() -> None:
    with op.batch_alter_table("quality_subject", schema=None) as batch_op:
        batch_op.drop_index("ix_quality_subject_stated")
        batch_op.drop_index("ix_quality_subject_children")
        batch_op.drop_index("ix_quality_subject_child")

    op.drop_table("quality_subject")
    with op.batch_alter_table("incident_child", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_child_report")
        batch_op.drop_index("ix_incident_child_child")

    op.drop_table("incident_child")
