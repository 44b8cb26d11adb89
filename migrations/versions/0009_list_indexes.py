"""indexes for the long lists: composite (filter, sort) indexes and, on PostgreSQL, trigram search

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 17:00:00

Only indexes are added, so downgrading loses no data. On PostgreSQL the ``pg_trgm``
extension is created (it needs the CREATE privilege on the database; see README,
"PostgreSQL and production") and GIN trigram indexes serve the lists' ``ILIKE '%term%'``
name searches. SQLite gets the ordinary indexes only.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

#: (name, table, columns): the list sorts and the (filter, sort) pairs of scoped lists and pages.
INDEXES = [
    ("ix_audit_event_entity_at", "audit_event", ["entity", "at"]),
    ("ix_audit_event_actor_email_at", "audit_event", ["actor_email", "at"]),
    ("ix_attendance_recorded_at", "attendance", ["recorded_at"]),
    ("ix_attendance_patient_recorded_at", "attendance", ["patient_id", "recorded_at"]),
    ("ix_exercise_checkin_on_date", "exercise_checkin", ["on_date"]),
    ("ix_assignment_patient_status", "assignment", ["patient_id", "status"]),
    ("ix_assignment_start_date", "assignment", ["start_date"]),
    ("ix_group_session_group_starts_at", "group_session", ["group_id", "starts_at"]),
    ("ix_group_session_facilitator_starts_at", "group_session", ["facilitator_id", "starts_at"]),
    ("ix_group_membership_group_start", "group_membership", ["group_id", "start_date"]),
    ("ix_enrolment_patient_start", "enrolment", ["patient_id", "start_date"]),
]

#: (name, table, column): PostgreSQL GIN trigram indexes for the searched text columns.
TRIGRAM_INDEXES = [
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


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    if _postgresql():
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, table, column in TRIGRAM_INDEXES:
            op.create_index(
                name, table, [column], unique=False,
                postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"},
            )


def downgrade():
    if _postgresql():
        for name, table, _column in reversed(TRIGRAM_INDEXES):
            op.drop_index(name, table_name=table)
        # The extension goes too, unless something else in the database still uses it
        # or it belongs to another role (a DBA created it for us): then it stays.
        op.execute(
            "DO $$ BEGIN DROP EXTENSION IF EXISTS pg_trgm; "
            "EXCEPTION WHEN dependent_objects_still_exist OR insufficient_privilege THEN NULL; END $$"
        )
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
