"""safety tasks: PHQ-9 item 9 above 0 waits for a clinician's risk assessment

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 04:40:00

Downgrading would drop safety tasks and their risk assessments: it refuses while there are
any, unless forced (``flask db downgrade -x force=yes``).
"""
import sqlalchemy as sa
from alembic import op

from clinic.downgrade_guard import count, refuse_losing

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "safety_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("administration_id", sa.Integer(), nullable=False),
        sa.Column("item9_answer", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=True),
        sa.Column("counselor_id", sa.Integer(), nullable=True),
        sa.Column("assessed_at", sa.DateTime(), nullable=True),
        sa.Column("assessed_by_id", sa.Integer(), nullable=True),
        sa.Column("risk_level", sa.Enum("low", "moderate", "high", "imminent", name="safety_risk_level",
                                        native_enum=False, create_constraint=True, length=20), nullable=True),
        sa.Column("action_taken", sa.Text(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("item9_answer BETWEEN 1 AND 3", name=op.f("ck_safety_task_item9_positive")),
        sa.CheckConstraint(
            "closed_at IS NULL OR (assessed_by_id IS NOT NULL AND assessed_at IS NOT NULL"
            " AND risk_level IS NOT NULL AND length(action_taken) > 0)",
            name=op.f("ck_safety_task_closed_by_an_assessment"),
        ),
        sa.CheckConstraint("length(action_taken) <= 4000", name=op.f("ck_safety_task_action_taken_length")),
        sa.ForeignKeyConstraint(["administration_id"], ["measure_administration.id"],
                                name=op.f("fk_safety_task_administration_id_measure_administration")),
        sa.ForeignKeyConstraint(["assessed_by_id"], ["staff_user.id"], name=op.f("fk_safety_task_assessed_by_id_staff_user")),
        sa.ForeignKeyConstraint(["counselor_id"], ["staff_user.id"], name=op.f("fk_safety_task_counselor_id_staff_user")),
        sa.ForeignKeyConstraint(["opened_by_id"], ["staff_user.id"], name=op.f("fk_safety_task_opened_by_id_staff_user")),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_safety_task_patient_id_patient")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_task")),
    )
    with op.batch_alter_table("safety_task", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_task_administration_id"), ["administration_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_task_counselor_id"), ["counselor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_task_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index("ix_safety_task_open", ["closed_at", "opened_at"], unique=False)


def downgrade():
    refuse_losing({"safety tasks and risk assessments": count("SELECT count(*) FROM safety_task")}, "below 0018")
    with op.batch_alter_table("safety_task", schema=None) as batch_op:
        batch_op.drop_index("ix_safety_task_open")
        batch_op.drop_index(batch_op.f("ix_safety_task_patient_id"))
        batch_op.drop_index(batch_op.f("ix_safety_task_counselor_id"))
        batch_op.drop_index(batch_op.f("ix_safety_task_administration_id"))
    op.drop_table("safety_task")
