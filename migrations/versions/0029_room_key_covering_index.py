"""the week planner: a room's sessions read from the index alone, a track's groups by name

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03 16:30:00

Only indexes are added (one replacing another), so downgrading loses no data.

- ``ix_group_session_room_key_starts_at_id`` on ``(lower(trim(room)), starts_at, id)``
  INCLUDE ``(room, status, duration_minutes, group_id)`` replaces 0025's
  ``ix_group_session_room_key_starts_at``. The planner's room probes (each page session's
  partners in its room, ``services/week_plan.py``) read every column they test from it
  (an index-only scan: ``room`` is included because PostgreSQL 15 does not see that the
  probe needs it only inside the indexed expression), and get the partners already in
  (start, id) order, so a probe stops after its first ``limit`` partners instead of
  fetching every session of the room's day from the table and sorting them. At 10 million
  attendance rows a room holds about 140 sessions in a probe's window. PostgreSQL only,
  like 0025's (SQLite's clinics are small). On PostgreSQL both steps tolerate the index
  made by hand earlier (the shared scale clinics got it that way).
- ``ix_care_group_track_name`` on ``care_group (track_id, name)``: the planner walks each
  track's groups by name until it has its page (``_page_statement``), instead of sorting
  every group of the clinic for one page of 25. On both databases (tolerating the index
  made by hand on PostgreSQL).
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if _postgresql():
        op.execute("CREATE INDEX IF NOT EXISTS ix_group_session_room_key_starts_at_id ON group_session "
                   "USING btree (lower(TRIM(BOTH FROM room)), starts_at, id) "
                   "INCLUDE (room, status, duration_minutes, group_id)")
        op.execute("DROP INDEX IF EXISTS ix_group_session_room_key_starts_at")
    op.execute("CREATE INDEX IF NOT EXISTS ix_care_group_track_name ON care_group (track_id, name)")


def downgrade():
    op.execute("DROP INDEX IF EXISTS ix_care_group_track_name")
    if _postgresql():
        op.execute("CREATE INDEX IF NOT EXISTS ix_group_session_room_key_starts_at ON group_session "
                   "USING btree (lower(TRIM(BOTH FROM room)), starts_at)")
        op.execute("DROP INDEX IF EXISTS ix_group_session_room_key_starts_at_id")
