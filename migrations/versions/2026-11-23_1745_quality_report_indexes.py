"""PPN quality report: covering indexes for the "incident without a PPN" rule.

The rule pairs incidents in a period with their arrested or injured children, then probes each
child's PPNs after the incident. These indexes hold every column those steps read, so neither
visits table rows: incidents by time with injury and crime ref (ix_incident_no_ppn), a record's
subjects with role and arrest (ix_record_subject_at_risk), and a child's records by type and time
now with the record id (ix_record_subject_child, widened).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 17:45:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.create_index('ix_incident_no_ppn', ['occurred_at', 'injury_severity', 'crime_ref', 'record_id'], unique=False)

    with op.batch_alter_table('record_subject', schema=None) as batch_op:
        batch_op.drop_index('ix_record_subject_child')
        batch_op.create_index('ix_record_subject_child', ['child_id', 'record_type', 'event_at', 'record_id'], unique=False)
        batch_op.create_index('ix_record_subject_at_risk', ['record_id', 'role', 'arrested', 'child_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('record_subject', schema=None) as batch_op:
        batch_op.drop_index('ix_record_subject_at_risk')
        batch_op.drop_index('ix_record_subject_child')
        batch_op.create_index('ix_record_subject_child', ['child_id', 'record_type', 'event_at'], unique=False)

    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_no_ppn')
