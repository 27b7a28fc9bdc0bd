"""Records, their versions and subjects, and children with their identifiers.

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 14:34:08.957146+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('child',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_child'))
    )
    op.create_table('record',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('record_type', sa.String(length=30), nullable=False),
    sa.Column('agency', sa.String(length=30), nullable=False),
    sa.Column('source_ref', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('first_received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record')),
    sa.UniqueConstraint('agency', 'record_type', 'source_ref', name=op.f('uq_record_agency_record_type_source_ref'))
    )
    op.create_table('ae_attendance',
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('arrived_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('assault_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('assault_method', sa.String(length=200), nullable=True),
    sa.Column('assault_location_type', sa.String(length=200), nullable=True),
    sa.Column('injury_severity', sa.String(length=30), nullable=True),
    sa.Column('navigator_status', sa.String(length=30), nullable=False),
    sa.Column('first_contact_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['record_id'], ['record.id'], name=op.f('fk_ae_attendance_record_id_record'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('record_id', name=op.f('pk_ae_attendance'))
    )
    with op.batch_alter_table('ae_attendance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ae_attendance_arrived_at'), ['arrived_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ae_attendance_navigator_status'), ['navigator_status'], unique=False)

    op.create_table('child_identifier',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Uuid(), nullable=False),
    sa.Column('scheme', sa.String(length=30), nullable=False),
    sa.Column('value', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['child.id'], name=op.f('fk_child_identifier_child_id_child')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_child_identifier')),
    sa.UniqueConstraint('scheme', 'value', name=op.f('uq_child_identifier_scheme_value'))
    )
    with op.batch_alter_table('child_identifier', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_child_identifier_child_id'), ['child_id'], unique=False)

    op.create_table('education_report',
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('school_urn', sa.String(length=6), nullable=False),
    sa.Column('report_type', sa.String(length=40), nullable=False),
    sa.Column('reported_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['record.id'], name=op.f('fk_education_report_record_id_record'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('record_id', name=op.f('pk_education_report'))
    )
    with op.batch_alter_table('education_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_education_report_reported_on'), ['reported_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_education_report_school_urn'), ['school_urn'], unique=False)

    op.create_table('incident',
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('postcode_district', sa.String(length=4), nullable=True),
    sa.Column('ward', sa.String(length=200), nullable=True),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('weapon', sa.String(length=40), nullable=True),
    sa.Column('injury_severity', sa.String(length=30), nullable=True),
    sa.Column('crime_ref', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['record_id'], ['record.id'], name=op.f('fk_incident_record_id_record'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('record_id', name=op.f('pk_incident'))
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_crime_ref'), ['crime_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_occurred_at'), ['occurred_at'], unique=False)

    op.create_table('ppn',
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('occurrence_ref', sa.String(length=100), nullable=True),
    sa.Column('incident_occurred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('officer_team', sa.String(length=200), nullable=True),
    sa.Column('officer_district', sa.String(length=200), nullable=True),
    sa.Column('risk_grade', sa.String(length=10), nullable=False),
    sa.Column('child_present', sa.Boolean(), nullable=True),
    sa.Column('child_spoken_to', sa.Boolean(), nullable=True),
    sa.Column('arrested', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['record_id'], ['record.id'], name=op.f('fk_ppn_record_id_record'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('record_id', name=op.f('pk_ppn'))
    )
    with op.batch_alter_table('ppn', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ppn_occurrence_ref'), ['occurrence_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_ppn_submitted_at'), ['submitted_at'], unique=False)

    op.create_table('record_subject',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('child_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('arrested', sa.Boolean(), nullable=True),
    sa.Column('given_key', sa.String(length=200), nullable=True),
    sa.Column('family_key', sa.String(length=200), nullable=True),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['child_id'], ['child.id'], name=op.f('fk_record_subject_child_id_child')),
    sa.ForeignKeyConstraint(['record_id'], ['record.id'], name=op.f('fk_record_subject_record_id_record'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_subject')),
    sa.UniqueConstraint('record_id', 'position', name=op.f('uq_record_subject_record_id_position'))
    )
    with op.batch_alter_table('record_subject', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_subject_child_id'), ['child_id'], unique=False)
        batch_op.create_index('ix_record_subject_match', ['family_key', 'date_of_birth'], unique=False)

    op.create_table('record_version',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('body_hash', sa.String(length=64), nullable=False),
    sa.Column('body', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['record.id'], name=op.f('fk_record_version_record_id_record'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_version')),
    sa.UniqueConstraint('record_id', 'version', name=op.f('uq_record_version_record_id_version'))
    )
    op.create_table('yjs_case',
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('order_type', sa.String(length=60), nullable=True),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('rosh_level', sa.String(length=20), nullable=True),
    sa.Column('safety_wellbeing_level', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['record_id'], ['record.id'], name=op.f('fk_yjs_case_record_id_record'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('record_id', name=op.f('pk_yjs_case'))
    )
    with op.batch_alter_table('yjs_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_yjs_case_status'), ['status'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('yjs_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_yjs_case_status'))

    op.drop_table('yjs_case')
    op.drop_table('record_version')
    with op.batch_alter_table('record_subject', schema=None) as batch_op:
        batch_op.drop_index('ix_record_subject_match')
        batch_op.drop_index(batch_op.f('ix_record_subject_child_id'))

    op.drop_table('record_subject')
    with op.batch_alter_table('ppn', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ppn_submitted_at'))
        batch_op.drop_index(batch_op.f('ix_ppn_occurrence_ref'))

    op.drop_table('ppn')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_incident_crime_ref'))

    op.drop_table('incident')
    with op.batch_alter_table('education_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_education_report_school_urn'))
        batch_op.drop_index(batch_op.f('ix_education_report_reported_on'))

    op.drop_table('education_report')
    with op.batch_alter_table('child_identifier', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_child_identifier_child_id'))

    op.drop_table('child_identifier')
    with op.batch_alter_table('ae_attendance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ae_attendance_navigator_status'))
        batch_op.drop_index(batch_op.f('ix_ae_attendance_arrived_at'))

    op.drop_table('ae_attendance')
    op.drop_table('record')
    op.drop_table('child')

