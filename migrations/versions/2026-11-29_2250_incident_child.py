"""incident_child: each arrested child or victim of an incident, and when their first linked PPN came.

The quality report's "incident without a PPN in time" rule counts these rows over a period
instead of probing every child's PPNs for every incident (app.quality.models.IncidentChild;
app.quality.no_ppn keeps them in step at ingest and on merges). Existing incidents are filled in
here, from record_subject, incident and ppn, exactly as app.quality.no_ppn.rows computes them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 22:50:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Seconds from the incident to a PPN subject's event time, as app.db.SecondsBetween spells it.
SECONDS = {
    "postgresql": "EXTRACT(EPOCH FROM (ps.event_at - i.occurred_at))",
    "sqlite": "ROUND((julianday(ps.event_at) - julianday(i.occurred_at)) * 86400.0, 3)",
}
BACKFILL = """
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


def upgrade() -> None:
    op.create_table('incident_child',
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Uuid(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('arrested', sa.Boolean(), nullable=False),
    sa.Column('victim', sa.Boolean(), nullable=False),
    sa.Column('injury_severity', sa.String(length=30), nullable=True),
    sa.Column('first_ppn_seconds', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['child_id'], ['child.id'], name=op.f('fk_incident_child_child_id_child')),
    sa.ForeignKeyConstraint(['record_id'], ['record.id'], name=op.f('fk_incident_child_record_id_record'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('record_id', 'position', name=op.f('pk_incident_child'))
    )
    with op.batch_alter_table('incident_child', schema=None) as batch_op:
        batch_op.create_index('ix_incident_child_child', ['child_id'], unique=False)
        batch_op.create_index('ix_incident_child_report', ['occurred_at', 'arrested', 'victim', 'injury_severity', 'first_ppn_seconds', 'record_id'], unique=False)

    bind = op.get_bind()
    op.execute(BACKFILL.format(seconds=SECONDS[bind.dialect.name]))
    if bind.dialect.name == "postgresql":
        op.execute("ANALYZE incident_child")


def downgrade() -> None:
    with op.batch_alter_table('incident_child', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_child_report')
        batch_op.drop_index('ix_incident_child_child')

    op.drop_table('incident_child')
