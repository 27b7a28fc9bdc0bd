"""The audit chain (append-only), break-glass grants and access notifications.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 15:07:31.936072+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('access_notification',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recipient_agency', sa.String(length=30), nullable=False),
    sa.Column('child_id', sa.Uuid(), nullable=False),
    sa.Column('reader_agency', sa.String(length=30), nullable=False),
    sa.Column('reader_roles', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('purpose', sa.String(length=60), nullable=True),
    sa.Column('audit_seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_notification'))
    )
    with op.batch_alter_table('access_notification', schema=None) as batch_op:
        batch_op.create_index('ix_access_notification_recipient', ['recipient_agency', 'created_at'], unique=False)

    op.create_table('audit_event',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('actor_sub', sa.String(length=200), nullable=False),
    sa.Column('actor_agency', sa.String(length=30), nullable=True),
    sa.Column('actor_roles', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('purpose', sa.String(length=60), nullable=True),
    sa.Column('break_glass', sa.Boolean(), nullable=False),
    sa.Column('child_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('record_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('field_groups', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_event'))
    )
    op.create_table('break_glass_grant',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('actor_sub', sa.String(length=200), nullable=False),
    sa.Column('actor_agency', sa.String(length=30), nullable=False),
    sa.Column('actor_roles', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('child_id', sa.Uuid(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('audit_seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_break_glass_grant'))
    )
    with op.batch_alter_table('break_glass_grant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_break_glass_grant_granted_at'), ['granted_at'], unique=False)
        batch_op.create_index('ix_break_glass_grant_lookup', ['actor_sub', 'child_id', 'expires_at'], unique=False)

    op.create_table('audit_event_child',
    sa.Column('audit_seq', sa.BigInteger(), nullable=False),
    sa.Column('child_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['audit_seq'], ['audit_event.seq'], name=op.f('fk_audit_event_child_audit_seq_audit_event')),
    sa.PrimaryKeyConstraint('audit_seq', 'child_id', name=op.f('pk_audit_event_child'))
    )
    with op.batch_alter_table('audit_event_child', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_child_child_id'), ['child_id'], unique=False)

    # Append-only by trigger on both databases: the application may insert audit rows and read
    # them, never change or remove them. (The hash chain then detects whoever gets past this.)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION shield_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'the audit is append-only: % on % refused', TG_OP, TG_TABLE_NAME; END $$"
        )
        for table in ("audit_event", "audit_event_child"):
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION shield_audit_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION shield_audit_append_only()"
            )
    else:
        for table in ("audit_event", "audit_event_child"):
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'the audit is append-only: {event} on {table} refused'); END"
                )


def downgrade() -> None:

    with op.batch_alter_table('audit_event_child', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_child_child_id'))

    op.drop_table('audit_event_child')
    with op.batch_alter_table('break_glass_grant', schema=None) as batch_op:
        batch_op.drop_index('ix_break_glass_grant_lookup')
        batch_op.drop_index(batch_op.f('ix_break_glass_grant_granted_at'))

    op.drop_table('break_glass_grant')
    op.drop_table('audit_event')
    with op.batch_alter_table('access_notification', schema=None) as batch_op:
        batch_op.drop_index('ix_access_notification_recipient')

    op.drop_table('access_notification')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS shield_audit_append_only()")
