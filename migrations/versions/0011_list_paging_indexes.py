"""long lists stay flat: short GIN pending lists, a trigram index on session rooms, open caseloads

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 19:30:00

Only indexes and index storage settings change, so downgrading loses no data.

* The trigram (GIN) indexes of migration 0009 keep new entries in a "pending list" that every
  search reads from end to end until VACUUM merges it (default limit 4 MB). After a bulk
  load, or on a server whose autovacuum lags, a name search then reads the whole list: at a
  million rows it took 25 ms to find nothing in 18 thousand record numbers, and the planner,
  seeing that cost, scanned the patients instead. Each trigram index gets a 64 kB limit
  (``gin_pending_list_limit``), so an insert merges the list into the index once it holds
  64 kB; the lists already pending are merged now (``gin_clean_pending_list``).
* Session rooms are searched (the session list): a trigram index like the others.
* A counselor's caseload starts from their patients' open enrolments: a partial index on
  ``primary_counselor_id`` for open enrolments only (SQLite too).

PostgreSQL only for the GIN parts; SQLite gets the partial index.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

#: The trigram indexes of migration 0009 (name, table, column).
TRIGRAM_0009 = [
    ("ix_patient_last_name_trgm", "patient", "last_name"),
    ("ix_patient_first_name_trgm", "patient", "first_name"),
    ("ix_patient_preferred_name_trgm", "patient", "preferred_name"),
    ("ix_patient_record_number_trgm", "patient", "record_number"),
    ("ix_kindness_exercise_title_trgm", "kindness_exercise", "title"),
    ("ix_care_group_name_trgm", "care_group", "name"),
    ("ix_audit_event_actor_email_trgm", "audit_event", "actor_email"),
    ("ix_audit_event_entity_trgm", "audit_event", "entity"),
    ("ix_audit_event_entity_id_trgm", "audit_event", "entity_id"),
]
#: New trigram indexes.
TRIGRAM_NEW = [("ix_group_session_room_trgm", "group_session", "room")]
#: kB of pending entries a trigram index holds before an insert merges them (PostgreSQL's default: 4096).
PENDING_LIST_KB = 64


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    op.create_index(
        "ix_enrolment_open_primary_counselor", "enrolment", ["primary_counselor_id"], unique=False,
        sqlite_where=sa.text("end_date IS NULL"), postgresql_where=sa.text("end_date IS NULL"),
    )
    if not _postgresql():
        return
    for name, table, column in TRIGRAM_NEW:
        op.create_index(
            name, table, [column], unique=False, postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"}, postgresql_with={"gin_pending_list_limit": PENDING_LIST_KB},
        )
    for name, _table, _column in TRIGRAM_0009:
        op.execute(f"ALTER INDEX {name} SET (gin_pending_list_limit = {PENDING_LIST_KB})")
        op.execute(sa.text("SELECT gin_clean_pending_list(CAST(:name AS regclass))").bindparams(name=name))


def downgrade():
    if _postgresql():
        for name, _table, _column in reversed(TRIGRAM_0009):
            op.execute(f"ALTER INDEX {name} RESET (gin_pending_list_limit)")
        for name, table, _column in reversed(TRIGRAM_NEW):
            op.drop_index(name, table_name=table)
    op.drop_index("ix_enrolment_open_primary_counselor", table_name="enrolment")
