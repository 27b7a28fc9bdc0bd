"""Identity resolution: the person index and its blocking keys, possible matches, merges and splits.

person_index holds each way a child has been described; person_key its blocking keys (the primary
key is the index a resolve reads). identity_review holds possible matches for the steward;
child_merge records which rows each merge moved, so that a split moves exactly those back, and
child.merged_into marks an absorbed child. Children linked before this revision are not in the
person index: they are still found by their identifiers, and join the index with their next record.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 17:21:21.700728+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('child_merge',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('survivor_id', sa.Uuid(), nullable=False),
    sa.Column('absorbed_id', sa.Uuid(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('merged_by', sa.String(length=200), nullable=False),
    sa.Column('merged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('moved', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('split_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('split_by', sa.String(length=200), nullable=True),
    sa.Column('split_reason', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['absorbed_id'], ['child.id'], name=op.f('fk_child_merge_absorbed_id_child')),
    sa.ForeignKeyConstraint(['survivor_id'], ['child.id'], name=op.f('fk_child_merge_survivor_id_child')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_child_merge'))
    )
    with op.batch_alter_table('child_merge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_child_merge_absorbed_id'), ['absorbed_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_child_merge_survivor_id'), ['survivor_id'], unique=False)

    op.create_table('person_index',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Uuid(), nullable=False),
    sa.Column('given_name', sa.String(length=200), nullable=True),
    sa.Column('family_name', sa.String(length=200), nullable=True),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.Column('sex', sa.String(length=20), nullable=True),
    sa.Column('postcode', sa.String(length=10), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['child.id'], name=op.f('fk_person_index_child_id_child')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_index'))
    )
    with op.batch_alter_table('person_index', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_index_child_id'), ['child_id'], unique=False)

    op.create_table('identity_review',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('child_id', sa.Uuid(), nullable=False),
    sa.Column('candidate_id', sa.Uuid(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('evidence', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('merge_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['child.id'], name=op.f('fk_identity_review_candidate_id_child')),
    sa.ForeignKeyConstraint(['child_id'], ['child.id'], name=op.f('fk_identity_review_child_id_child')),
    sa.ForeignKeyConstraint(['merge_id'], ['child_merge.id'], name=op.f('fk_identity_review_merge_id_child_merge')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_review')),
    sa.UniqueConstraint('child_id', 'candidate_id', name=op.f('uq_identity_review_child_id_candidate_id'))
    )
    with op.batch_alter_table('identity_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_review_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index('ix_identity_review_status', ['status', 'created_at'], unique=False)

    op.create_table('person_key',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person_index.id'], name=op.f('fk_person_key_person_id_person_index'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', 'person_id', name=op.f('pk_person_key'))
    )
    # Not in batch mode: a plain nullable column is a native ALTER on SQLite, where rebuilding
    # child (which every child-holding table references) would trip the foreign keys.
    op.add_column('child', sa.Column('merged_into', sa.Uuid(), nullable=True))



def downgrade() -> None:
    op.drop_column('child', 'merged_into')

    op.drop_table('person_key')
    with op.batch_alter_table('identity_review', schema=None) as batch_op:
        batch_op.drop_index('ix_identity_review_status')
        batch_op.drop_index(batch_op.f('ix_identity_review_candidate_id'))

    op.drop_table('identity_review')
    with op.batch_alter_table('person_index', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_index_child_id'))

    op.drop_table('person_index')
    with op.batch_alter_table('child_merge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_child_merge_survivor_id'))
        batch_op.drop_index(batch_op.f('ix_child_merge_absorbed_id'))

    op.drop_table('child_merge')
