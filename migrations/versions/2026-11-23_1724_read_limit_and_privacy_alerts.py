"""Privacy officer alerts, and an index for counting one person's disclosures in the last hour.

The bulk-lookup limit (SHIELD_READ_LIMIT_CHILDREN_PER_HOUR) counts a person's audit rows of the
last hour on every read: ix_audit_event_actor keeps that a short range scan however long the
audit grows. privacy_alert holds the alerts raised when someone reaches the limit.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 17:24:51.429423+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('privacy_alert',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('actor_sub', sa.String(length=200), nullable=False),
    sa.Column('actor_agency', sa.String(length=30), nullable=True),
    sa.Column('actor_roles', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('detail', sa.String(length=300), nullable=False),
    sa.Column('audit_seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_alert'))
    )
    with op.batch_alter_table('privacy_alert', schema=None) as batch_op:
        batch_op.create_index('ix_privacy_alert_actor', ['actor_sub', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_alert_created_at'), ['created_at'], unique=False)

    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_actor', ['actor_sub', 'occurred_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_actor')

    with op.batch_alter_table('privacy_alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_alert_created_at'))
        batch_op.drop_index('ix_privacy_alert_actor')

    op.drop_table('privacy_alert')
