"""indexes for this round's pages: the latest measures entered, the rooms sessions name

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 07:20:00

Only indexes are added, so downgrading loses no data. Each keeps a page as fast with years
of history as with a few weeks (measured by ``bench/scale.py``):

- ``ix_measure_administration_entered_at`` (entered, id): Records → Outcome measures lists
  the latest 25 measures entered; without it the whole table is read and sorted
  (180 ms at 400,000 measures, 0.1 ms with it).
- ``ix_group_session_room`` (room): the calendar feeds page offers every room that
  sessions name; the service reads them by skipping from one room to the next through this
  index (a few probes per room) instead of reading every session ever held.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_measure_administration_entered_at", "measure_administration", ["entered_at", "id"],
                    unique=False)
    op.create_index("ix_group_session_room", "group_session", ["room"], unique=False)


def downgrade():
    op.drop_index("ix_group_session_room", table_name="group_session")
    op.drop_index("ix_measure_administration_entered_at", table_name="measure_administration")
