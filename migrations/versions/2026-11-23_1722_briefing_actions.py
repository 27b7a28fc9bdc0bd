"""Project Shield meeting actions, and an index for incidents reported after their window closed.

meeting_action holds what the daily meeting asked of an agency about a child and/or an incident,
with its due date and status (open, in_progress, done, cancelled). ix_record_received lets the
daily briefing find incidents first received after the window they happened in.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 17:22:05.063810+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('meeting_action',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('meeting_date', sa.Date(), nullable=False),
    sa.Column('child_id', sa.Uuid(), nullable=True),
    sa.Column('incident_id', sa.Uuid(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner_agency', sa.String(length=30), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('outcome_note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('open', 'in_progress', 'done', 'cancelled')", name=op.f('ck_meeting_action_status_known')),
    sa.CheckConstraint('child_id IS NOT NULL OR incident_id IS NOT NULL', name=op.f('ck_meeting_action_about_something')),
    sa.ForeignKeyConstraint(['child_id'], ['child.id'], name=op.f('fk_meeting_action_child_id_child')),
    sa.ForeignKeyConstraint(['incident_id'], ['record.id'], name=op.f('fk_meeting_action_incident_id_record')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_action'))
    )
    with op.batch_alter_table('meeting_action', schema=None) as batch_op:
        batch_op.create_index('ix_meeting_action_child', ['child_id', 'status'], unique=False)
        batch_op.create_index('ix_meeting_action_incident', ['incident_id', 'status'], unique=False)
        batch_op.create_index('ix_meeting_action_status_due', ['status', 'due_on', 'id'], unique=False)

    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.create_index('ix_record_received', ['record_type', 'first_received_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.drop_index('ix_record_received')

    with op.batch_alter_table('meeting_action', schema=None) as batch_op:
        batch_op.drop_index('ix_meeting_action_status_due')
        batch_op.drop_index('ix_meeting_action_incident')
        batch_op.drop_index('ix_meeting_action_child')

    op.drop_table('meeting_action')
