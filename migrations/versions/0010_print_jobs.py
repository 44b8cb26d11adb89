"""print jobs: batch prints as background jobs and their chunks

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 19:13:00

Print jobs are transient (their PDFs are deleted after ``CLINIC_PRINT_KEEP_MINUTES``), so
downgrading drops them without asking: a job running then is lost, nothing recorded is.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('print_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('active_key', sa.String(length=400), nullable=True),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('state', sa.Enum('queued', 'running', 'done', 'failed', name='print_job_state', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('sheets_total', sa.Integer(), nullable=False),
    sa.Column('sheets_done', sa.Integer(), nullable=False),
    sa.Column('message', sa.String(length=400), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('merge_started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('pdf', sa.LargeBinary(), nullable=True),
    sa.CheckConstraint('sheets_done >= 0 AND sheets_done <= sheets_total', name=op.f('ck_print_job_sheets_range')),
    sa.ForeignKeyConstraint(['owner_id'], ['staff_user.id'], name=op.f('fk_print_job_owner_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_print_job')),
    sa.UniqueConstraint('owner_id', 'active_key', name='uq_print_job_owner_active_key')
    )
    with op.batch_alter_table('print_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_print_job_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_print_job_owner_id'), ['owner_id'], unique=False)

    op.create_table('print_chunk',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('patient_ids', sa.JSON(), nullable=False),
    sa.Column('state', sa.Enum('queued', 'running', 'done', 'failed', name='print_chunk_state', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('sheets_done', sa.Integer(), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
    sa.Column('pdf', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['print_job.id'], name=op.f('fk_print_chunk_job_id_print_job'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_print_chunk')),
    sa.UniqueConstraint('job_id', 'index', name='uq_print_chunk_job_index')
    )
    with op.batch_alter_table('print_chunk', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_print_chunk_job_id'), ['job_id'], unique=False)
        batch_op.create_index('ix_print_chunk_state_heartbeat', ['state', 'heartbeat_at'], unique=False)



def downgrade():
    with op.batch_alter_table('print_chunk', schema=None) as batch_op:
        batch_op.drop_index('ix_print_chunk_state_heartbeat')
        batch_op.drop_index(batch_op.f('ix_print_chunk_job_id'))

    op.drop_table('print_chunk')
    with op.batch_alter_table('print_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_print_job_owner_id'))
        batch_op.drop_index(batch_op.f('ix_print_job_created_at'))

    op.drop_table('print_job')
