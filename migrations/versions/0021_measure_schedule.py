"""measure schedule: each track's interval between PHQ-9 / GAD-7 administrations

Revision ID: 0021
Revises: 0018
Create Date: 2026-12-03 06:00:00

Adds ``track.measure_interval_days`` (1 to 90, 7 for every existing track: weekly) and an
index of a patient's administrations by instrument and day, from which the schedule reads
the latest of each (``services.measure_schedule``). The admission, step-down and discharge
occasions are fixed policy in that service, not stored. Downgrading drops only the
configured intervals (no patient data).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("track", schema=None) as batch_op:
        batch_op.add_column(sa.Column("measure_interval_days", sa.Integer(), server_default="7", nullable=False))
        batch_op.create_check_constraint(
            batch_op.f("ck_track_measure_interval_range"), "measure_interval_days BETWEEN 1 AND 90"
        )
    # The server default stays: a track added outside the application (a restore script, plain SQL)
    # is measured weekly rather than refused.
    with op.batch_alter_table("measure_administration", schema=None) as batch_op:
        batch_op.create_index(
            "ix_measure_administration_patient_instrument_on",
            ["patient_id", "instrument", "administered_on"], unique=False,
        )


def downgrade():
    with op.batch_alter_table("measure_administration", schema=None) as batch_op:
        batch_op.drop_index("ix_measure_administration_patient_instrument_on")
    with op.batch_alter_table("track", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_track_measure_interval_range"), type_="check")
        batch_op.drop_column("measure_interval_days")
