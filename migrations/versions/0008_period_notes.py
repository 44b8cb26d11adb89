"""period notes: the counselor's summary and next steps per patient and period

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 15:30:00

Downgrading drops what counselors wrote as summaries and next steps: it refuses while
there are any, unless forced (``flask db downgrade -x force=yes``).
"""

import sqlalchemy as sa
from alembic import op

from clinic.downgrade_guard import count, refuse_losing

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "period_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("next_steps", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("written_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("period_to >= period_from", name=op.f("ck_period_note_period_not_reversed")),
        sa.CheckConstraint("length(summary) <= 4000", name=op.f("ck_period_note_summary_length")),
        sa.CheckConstraint("length(next_steps) <= 4000", name=op.f("ck_period_note_next_steps_length")),
        sa.ForeignKeyConstraint(["author_id"], ["staff_user.id"], name=op.f("fk_period_note_author_id_staff_user")),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_period_note_patient_id_patient")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_period_note")),
        sa.UniqueConstraint("patient_id", "period_from", "period_to", name="uq_period_note_patient_period"),
    )
    with op.batch_alter_table("period_note", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_period_note_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_period_note_patient_id"), ["patient_id"], unique=False)


def downgrade():
    refuse_losing(
        {"counselor's summaries and next steps": count("SELECT count(*) FROM period_note")},
        "below 0008",
    )
    with op.batch_alter_table("period_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_period_note_patient_id"))
        batch_op.drop_index(batch_op.f("ix_period_note_author_id"))
    op.drop_table("period_note")
