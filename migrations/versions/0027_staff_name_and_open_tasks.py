"""staff by name, and the open safety tasks oldest first

Revision ID: 0027
Revises: 0025
Create Date: 2026-12-03 11:40:00

Only indexes are added, so downgrading loses no data.

- ``ix_staff_user_name_key`` on ``(lower(full_name), id)``: the staff in the order the
  Records to finish page lists its facilitators (by name ignoring case, then id). The page
  walks it and probes each member of staff for an unfinished session (the partial index of
  0024) until it has its page, instead of grouping every unfinished session of the clinic
  by facilitator and sorting every facilitator; My day's "look at the day of" search walks
  it too. An expression index on PostgreSQL only (SQLite's clinics are small, and its
  reflection cannot read one back).
- ``ix_safety_task_open_opened_at`` on ``(opened_at, id)``, partial: the open tasks
  (``closed_at IS NULL``), in the order Records → Safety tasks, My day and the home page
  list them. They read their page (or first 21) from it instead of joining and sorting
  every open task of the clinic (hundreds in a large one).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0027"
down_revision = "0025"
branch_labels = None
depends_on = None


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


OPEN = "closed_at IS NULL"


def upgrade():
    op.create_index("ix_safety_task_open_opened_at", "safety_task", ["opened_at", "id"], unique=False,
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    if _postgresql():
        op.create_index("ix_staff_user_name_key", "staff_user", [sa.text("lower(full_name::text)"), "id"],
                        unique=False, postgresql_using="btree")


def downgrade():
    if _postgresql():
        op.drop_index("ix_staff_user_name_key", table_name="staff_user")
    op.drop_index("ix_safety_task_open_opened_at", table_name="safety_task")
