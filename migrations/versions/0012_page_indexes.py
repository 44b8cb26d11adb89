"""indexes for the everyday pages: a track's current enrolments, unsigned sessions

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 19:40:00

Only indexes are added, so downgrading loses no data. Each serves a page that must stay
as fast with years of history as with a few weeks:

- ``ix_enrolment_track_end`` (track, end date): who is enrolled in a track on a day (the
  track page, assigning to a whole track). "Covers the day" is ``end_date IS NULL OR
  end_date >= day``; PostgreSQL answers each arm from this index (a bitmap OR) instead
  of reading every enrolment the track ever had.
- ``ix_group_session_unsigned_starts_at`` (start, partial: not signed and not cancelled):
  the sessions whose record is still to finish (Records to finish, My day), a few
  hundred at most, whatever the number of signed sessions behind them. Partial indexes
  exist on SQLite too.

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UNSIGNED = "signed_at IS NULL AND status <> 'cancelled'"


def upgrade():
    op.create_index("ix_enrolment_track_end", "enrolment", ["track_id", "end_date"], unique=False)
    op.create_index(
        "ix_group_session_unsigned_starts_at", "group_session", ["starts_at"], unique=False,
        sqlite_where=sa.text(UNSIGNED), postgresql_where=sa.text(UNSIGNED),
    )


def downgrade():
    op.drop_index("ix_group_session_unsigned_starts_at", table_name="group_session")
    op.drop_index("ix_enrolment_track_end", table_name="enrolment")
