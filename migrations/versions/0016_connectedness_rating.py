"""connectedness rating: one weekly social-connectedness answer per patient (the kindness dose)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 04:00:00

Downgrading drops the patients' weekly answers: it refuses while there are any, unless
forced (``flask db downgrade -x force=yes``).
"""

import sqlalchemy as sa
from alembic import op

from clinic.downgrade_guard import count, refuse_losing

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

#: The week's first day is a Monday, in each database's words.
MONDAY = {
    "sqlite": "strftime('%w', week_start) = '1'",
    "postgresql": "extract(isodow from week_start) = 1",
}


def upgrade():
    dialect = op.get_bind().dialect.name
    monday = [sa.CheckConstraint(MONDAY[dialect], name=op.f("ck_connectedness_rating_week_starts_monday"))]
    op.create_table(
        "connectedness_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("rating BETWEEN 0 AND 10", name=op.f("ck_connectedness_rating_rating_range")),
        *monday,
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"],
                                name=op.f("fk_connectedness_rating_patient_id_patient")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["staff_user.id"],
                                name=op.f("fk_connectedness_rating_recorded_by_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connectedness_rating")),
        sa.UniqueConstraint("patient_id", "week_start", name="uq_connectedness_rating_patient_week"),
    )
    with op.batch_alter_table("connectedness_rating", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_connectedness_rating_recorded_by_id"), ["recorded_by_id"], unique=False)


def downgrade():
    refuse_losing(
        {"weekly connectedness ratings": count("SELECT count(*) FROM connectedness_rating")},
        "below 0016",
    )
    with op.batch_alter_table("connectedness_rating", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connectedness_rating_recorded_by_id"))
    op.drop_table("connectedness_rating")
