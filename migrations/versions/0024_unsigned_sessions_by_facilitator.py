"""sessions by facilitator: a facilitator's records to finish, and the groups of a counselor's caseload

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 07:20:00

Only indexes are added, so downgrading loses no data.

- ``ix_group_session_unsigned_facilitator_starts_at`` (facilitator, start; partial: not
  signed and not cancelled, as ``ix_group_session_unsigned_starts_at`` of 0012). Records
  to finish reads the oldest few of a page of facilitators, a facilitator's own list reads
  theirs oldest first, and My day a counselor's earlier unsigned sessions. Without it
  PostgreSQL combined the unsigned-sessions index with ``ix_group_session_facilitator_id``,
  which holds every session each facilitator ever ran (13,160 entries for a page of 20 at
  a million attendance rows), so the page grew with the history.
- ``ix_group_session_facilitator_group`` (facilitator, group): the groups whose sessions a
  counselor has facilitated (part of their caseload, ``access.facilitated_group_ids``),
  found one probe per group (a loose index scan) instead of reading every session the
  counselor ever ran, on every page a counselor opens.

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

UNSIGNED = "signed_at IS NULL AND status <> 'cancelled'"


def upgrade():
    op.create_index("ix_group_session_facilitator_group", "group_session", ["facilitator_id", "group_id"],
                    unique=False)
    op.create_index(
        "ix_group_session_unsigned_facilitator_starts_at", "group_session", ["facilitator_id", "starts_at"],
        unique=False, sqlite_where=sa.text(UNSIGNED), postgresql_where=sa.text(UNSIGNED),
    )


def downgrade():
    op.drop_index("ix_group_session_facilitator_group", table_name="group_session")
    op.drop_index("ix_group_session_unsigned_facilitator_starts_at", table_name="group_session")
