"""the week planner's clashes: rooms by their key and start

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 07:40:00

Only an index is added, so downgrading loses no data.

- ``ix_group_session_room_key_starts_at`` on ``(lower(trim(room)), starts_at)``: the rooms
  as ``series.room_key`` compares them (ignoring case and surrounding spaces), in time
  order. The week planner finds a room's clashes by probing it for the sessions that
  start while another one in the same room runs, instead of comparing every pair of the
  week's sessions in each room (``services/week_plan.py``). An expression index on
  PostgreSQL only (SQLite's clinics are small, and its reflection cannot read one back).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if _postgresql():
        op.create_index("ix_group_session_room_key_starts_at", "group_session",
                        [sa.text("lower(TRIM(BOTH FROM room))"), "starts_at"], unique=False,
                        postgresql_using="btree")


def downgrade():
    if _postgresql():
        op.drop_index("ix_group_session_room_key_starts_at", table_name="group_session")
