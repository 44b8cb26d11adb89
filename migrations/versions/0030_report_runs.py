"""report runs: whole-clinic reports computed by a background worker, and their results

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-03 15:40:00

Report runs are transient (their results are deleted after ``CLINIC_REPORT_KEEP_MINUTES``),
so downgrading drops them (and their pages, ``report_run_page``) without asking: a report being computed then is lost, nothing
recorded is.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('report_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('request_key', sa.String(length=400), nullable=False),
    sa.Column('active_key', sa.String(length=400), nullable=True),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('state', sa.Enum('queued', 'running', 'done', 'failed', name='report_run_state', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('message', sa.String(length=400), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['owner_id'], ['staff_user.id'], name=op.f('fk_report_run_owner_id_staff_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_run')),
    sa.UniqueConstraint('owner_id', 'active_key', name='uq_report_run_owner_active_key')
    )
    with op.batch_alter_table('report_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_run_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_report_run_owner_request', ['owner_id', 'request_key', 'created_at'], unique=False)

    op.create_table('report_run_page',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('table_index', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('page_no', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('rows', sa.JSON(), nullable=False),
    sa.Column('patient_ids', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['report_run.id'], name=op.f('fk_report_run_page_run_id_report_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'table_index', 'page_no', name=op.f('pk_report_run_page'))
    )


def downgrade():
    op.drop_table('report_run_page')
    with op.batch_alter_table('report_run', schema=None) as batch_op:
        batch_op.drop_index('ix_report_run_owner_request')
        batch_op.drop_index(batch_op.f('ix_report_run_created_at'))

    op.drop_table('report_run')
