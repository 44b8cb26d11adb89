"""staff by name: Records to finish pages its facilitators by name

Revision ID: 0027
Revises: 0025
Create Date: 2026-12-03 11:40:00

Only an index is added, so downgrading loses no data.

- ``ix_staff_user_name_key`` on ``(lower(full_name), id)``: the staff in the order the
  Records to finish page lists its facilitators (by name ignoring case, then id). The page
  walks it and probes each member of staff for an unfinished session (the partial index of
  0024) until it has its page, instead of grouping every unfinished session of the clinic
  by facilitator and sorting every facilitator; My day's "look at the day of" search walks
  it too. An expression index on PostgreSQL only (SQLite's clinics are small, and its
  reflection cannot read one back).
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


def upgrade():
    if _postgresql():
        op.create_index("ix_staff_user_name_key", "staff_user", [sa.text("lower(full_name::text)"), "id"],
                        unique=False, postgresql_using="btree")


def downgrade():
    if _postgresql():
        op.drop_index("ix_staff_user_name_key", table_name="staff_user")
