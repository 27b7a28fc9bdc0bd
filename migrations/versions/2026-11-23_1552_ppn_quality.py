"""PPN quality: each PPN's findings, ethnicity and delay; each record subject's type, time and ethnicity.

The quality report counts these columns instead of opening record bodies or joining tables, from
indexes that cover its scans (ix_ppn_quality replaces the index on submitted_at alone;
ix_record_subject_child extends the one on child_id). record_subject.record_type and event_at
are filled in for existing rows here; the ethnicity codes, finding masks and delays of records
stored before this revision stay NULL until the record is posted again.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 15:52:29.368116+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The event column of each record type whose event is a moment (the others' is a date).
EVENT_COLUMNS = {"incident": "occurred_at", "ppn": "submitted_at", "ae_attendance": "arrived_at"}


def upgrade() -> None:
    with op.batch_alter_table('ppn', schema=None) as batch_op:
        batch_op.add_column(sa.Column('finding_mask', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('self_defined_code', sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column('submission_delay_seconds', sa.Integer(), nullable=True))
        batch_op.drop_index(batch_op.f('ix_ppn_submitted_at'))
        batch_op.create_index('ix_ppn_quality', ['submitted_at', 'officer_district', 'officer_team', 'finding_mask', 'self_defined_code', 'submission_delay_seconds'], unique=False)

    with op.batch_alter_table('record_subject', schema=None) as batch_op:
        batch_op.add_column(sa.Column('record_type', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('event_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('self_defined_code', sa.String(length=2), nullable=True))

    op.execute(
        "UPDATE record_subject SET record_type = "
        "(SELECT record.record_type FROM record WHERE record.id = record_subject.record_id)"
    )
    for table, column in EVENT_COLUMNS.items():
        op.execute(
            f"UPDATE record_subject SET event_at = (SELECT {table}.{column} FROM {table} "
            f"WHERE {table}.record_id = record_subject.record_id) WHERE record_type = '{table}'"
        )

    with op.batch_alter_table('record_subject', schema=None) as batch_op:
        batch_op.alter_column('record_type', existing_type=sa.String(length=30), nullable=False)
        batch_op.drop_index(batch_op.f('ix_record_subject_child_id'))
        batch_op.create_index('ix_record_subject_child', ['child_id', 'record_type', 'event_at'], unique=False)
        batch_op.create_index('ix_record_subject_event', ['record_type', 'event_at', 'child_id', 'self_defined_code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('record_subject', schema=None) as batch_op:
        batch_op.drop_index('ix_record_subject_event')
        batch_op.drop_index('ix_record_subject_child')
        batch_op.create_index(batch_op.f('ix_record_subject_child_id'), ['child_id'], unique=False)
        batch_op.drop_column('self_defined_code')
        batch_op.drop_column('event_at')
        batch_op.drop_column('record_type')

    with op.batch_alter_table('ppn', schema=None) as batch_op:
        batch_op.drop_index('ix_ppn_quality')
        batch_op.create_index(batch_op.f('ix_ppn_submitted_at'), ['submitted_at'], unique=False)
        batch_op.drop_column('submission_delay_seconds')
        batch_op.drop_column('self_defined_code')
        batch_op.drop_column('finding_mask')
